#include "scaler/throughput.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lagpilot::scaler {

void ThroughputEstimate::add_sample(double per_replica_rate, double smoothing) {
  if (!std::isfinite(per_replica_rate) || per_replica_rate <= 0) return;
  if (samples_ == 0) {
    per_replica_rate_ = per_replica_rate;
  } else {
    const double weight = std::clamp(smoothing, 0.0, 1.0);
    per_replica_rate_ += weight * (per_replica_rate - per_replica_rate_);
  }
  ++samples_;
}

std::optional<double> ThroughputEstimate::per_replica_rate() const {
  if (samples_ == 0) return std::nullopt;
  return per_replica_rate_;
}

std::optional<double> ThroughputEstimate::planning_rate() const {
  if (const auto learned = per_replica_rate()) return learned;
  return lower_bound_;
}

LearningStep ThroughputEstimate::observe(const Observation& observation, int current_replicas,
                                         const ScalingSpec& spec) {
  Poll poll;
  poll.replicas = current_replicas;
  if (observation.ok) {
    poll.workers = workers(observation, current_replicas);
    poll.backlog = backlog(observation);
    poll.busy_rate = busy_per_replica_rate(observation, current_replicas, spec.learning);
  }
  track_start_up(observation, current_replicas);

  const auto same_workers = [&](const std::optional<Poll>& earlier) {
    return !earlier || earlier->workers == poll.workers;
  };
  // Rule 1 at both ends: busy at this poll and, when there was one, at the previous one.
  const bool busy =
      poll.busy_rate && !(previous_ && previous_->backlog &&
                          static_cast<double>(*previous_->backlog) <
                              *observation.egress_rate * spec.learning.min_backlog_seconds);
  observe_lower_bound(observation, current_replicas);

  LearningStep step = LearningStep::kSampled;
  if (!busy) {
    step = LearningStep::kNotBusy;  // or idle at the interval's start
  } else if (!same_workers(previous_) || !same_workers(before_previous_)) {
    step = LearningStep::kWorkersChanged;
  } else if (!started(observation, *poll.busy_rate, spec) || below_lower_bound(*poll.busy_rate)) {
    step = LearningStep::kStartingUp;
  } else if (previous_ && previous_->busy_rate &&
             *poll.busy_rate < kPauseShare * *previous_->busy_rate) {
    step = LearningStep::kPaused;
  } else {
    add_sample(*poll.busy_rate, spec.learning.smoothing);
  }
  before_previous_ = std::move(previous_);
  previous_ = poll;
  return step;
}

bool ThroughputEstimate::below_lower_bound(double rate) const {
  return samples_ == 0 && lower_bound_ && rate < kStartedShare * *lower_bound_;
}

void ThroughputEstimate::observe_lower_bound(const Observation& observation, int current_replicas) {
  std::optional<int> members;
  if (observation.ok && observation.egress_rate && std::isfinite(*observation.egress_rate)) {
    members = current_replicas;
    if (observation.consumers) members = std::min(*members, *observation.consumers);
    if (observation.max_useful_consumers > 0) {
      members = std::min(*members, observation.max_useful_consumers);
    }
  }
  // A member that left inside the interval did work this poll's figure counts.
  const bool fewer = previous_members_ && members && *members < *previous_members_;
  if (members && *members > 0 && !fewer && *observation.egress_rate > 0) {
    lower_bound_ = std::max(lower_bound_.value_or(0), *observation.egress_rate / *members);
  }
  previous_members_ = members;
}

void ThroughputEstimate::track_start_up(const Observation& observation, int current_replicas) {
  if (observation.consumers) {
    start_up_.reset();  // members are counted: only those that joined are workers
    return;
  }
  if (!previous_ || current_replicas <= previous_->replicas) return;
  std::optional<double> reference = per_replica_rate();
  if (!reference && previous_) reference = previous_->busy_rate;
  if (start_up_ && !reference) reference = start_up_->reference;
  start_up_ = StartUp{observation.time, reference};
}

bool ThroughputEstimate::started(const Observation& observation, double rate,
                                 const ScalingSpec& spec) {
  if (!start_up_) return true;
  const double allowance = spec.startup_delay_seconds.value_or(kDefaultStartupSeconds);
  const double waited = std::chrono::duration<double>(observation.time - start_up_->since).count();
  if (waited >= allowance ||
      (start_up_->reference && rate >= kStartedShare * *start_up_->reference)) {
    start_up_.reset();
    return true;
  }
  return false;
}

int workers(const Observation& observation, int current_replicas) {
  int workers = current_replicas;
  if (observation.consumers) workers = std::min(workers, *observation.consumers);
  if (observation.max_useful_consumers > 0)
    workers = std::min(workers, observation.max_useful_consumers);
  if (observation.partitions_with_backlog)
    workers = std::min(workers, *observation.partitions_with_backlog);
  return workers;
}

std::optional<double> busy_per_replica_rate(const Observation& observation, int current_replicas,
                                            const ThroughputLearning& learning) {
  const auto messages = backlog(observation);
  if (!observation.ok || !messages || !observation.egress_rate) return std::nullopt;
  const double egress = *observation.egress_rate;
  if (!std::isfinite(egress) || egress <= 0 || *messages <= 0) return std::nullopt;
  if (static_cast<double>(*messages) < egress * learning.min_backlog_seconds) return std::nullopt;
  const int count = workers(observation, current_replicas);
  if (count <= 0) return std::nullopt;
  return egress / count;
}

}  // namespace lagpilot::scaler
