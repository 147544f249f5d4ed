#include "sim/model.h"

#include <algorithm>
#include <numeric>

namespace lagpilot::sim {
namespace {

constexpr std::uint64_t kServiceStream = 2;
constexpr std::uint64_t kStartupStream = 3;
constexpr std::uint64_t kCommitStream = 4;
// Less than one message left in the fluid model is no lag.
constexpr double kNoLag = 0.5;

// Shares `capacity` among needs (water-filling: equal shares, what one need leaves goes to the
// others). Returns what each gets.
std::vector<double> water_fill(double capacity, const std::vector<double>& needs) {
  std::vector<std::size_t> order(needs.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&needs](std::size_t a, std::size_t b) { return needs[a] < needs[b]; });
  std::vector<double> got(needs.size(), 0.0);
  double left = capacity;
  std::size_t remaining = needs.size();
  for (std::size_t i : order) {
    const double share = left / static_cast<double>(remaining--);
    got[i] = std::min(std::max(needs[i], 0.0), share);
    left -= got[i];
  }
  return got;
}

}  // namespace

QueueModel::QueueModel(const ModelConfig& config, int initial_replicas)
    : config_(config),
      rng_(config.seed, kServiceStream),
      startup_rng_(config.seed, kStartupStream),
      commit_rng_(config.seed, kCommitStream) {
  // Already members before time 0.
  pods_.assign(static_cast<std::size_t>(std::max(initial_replicas, 0)), Pod{.ready_at = -1});
  members_ = static_cast<int>(pods_.size());
  state_.replicas = members_;
  state_.consumers = members_;
  state_.consuming = std::min(members_, config_.partitions);
  state_.partitions = config_.partitions;
  state_.members_visible = config_.group_members_visible;
  state_.latency_seconds = config_.service_rate > 0 ? 1 / config_.service_rate : 0;
  produced_until_.push_back(0);
  if (config_.partition_skew && config_.partitions > 0) {
    partition_consumed_.assign(static_cast<std::size_t>(config_.partitions), 0.0);
    state_.partitions_with_backlog = 0;
  }
  if (config_.commit_interval > 0) {
    consumed_at_.push_back(0);
    position_at_.push_back(0);
  }
}

int QueueModel::count_members(std::int64_t time) const {
  // A member during second `time` when it consumes some of it.
  return static_cast<int>(std::count_if(pods_.begin(), pods_.end(), [time](const Pod& pod) {
    return pod.ready_at < static_cast<double>(time) + 1;
  }));
}

double QueueModel::share_of_second(double from, std::int64_t time) {
  return std::clamp(static_cast<double>(time) + 1 - from, 0.0, 1.0);
}

void QueueModel::set_replicas(int replicas) {
  const auto wanted = static_cast<std::size_t>(std::max(replicas, 0));
  if (pods_.size() < wanted) {
    const std::size_t adding = wanted - pods_.size();
    std::vector<double> delays(adding, static_cast<double>(config_.startup_delay));
    const auto pick = [this](std::size_t size) {
      return std::min(static_cast<std::size_t>(startup_rng_.uniform() * static_cast<double>(size)),
                      size - 1);
    };
    if (!config_.startup_profiles.empty()) {
      const std::vector<double>& profile =
          config_.startup_profiles[pick(config_.startup_profiles.size())];
      for (std::size_t k = 0; k < adding && !profile.empty(); ++k) {
        const auto at =
            static_cast<std::size_t>((static_cast<double>(k) + 0.5) / static_cast<double>(adding) *
                                     static_cast<double>(profile.size()));
        delays[k] = std::max(0.0, profile[std::min(at, profile.size() - 1)]);
      }
    } else if (!config_.startup_delays.empty()) {
      const double delay =
          std::max(0.0, config_.startup_delays[pick(config_.startup_delays.size())]);
      delays.assign(adding, delay);
    }
    for (double delay : delays) {
      pods_.push_back(Pod{.ready_at = static_cast<double>(state_.time) + delay});
    }
  }
  // Those still starting go first (the latest to start first), then the newest members.
  while (pods_.size() > wanted) {
    auto latest = pods_.begin();  // the latest to start; ties: the younger
    for (auto pod = pods_.begin(); pod != pods_.end(); ++pod) {
      if (pod->ready_at >= latest->ready_at) latest = pod;
    }
    if (latest->ready_at > static_cast<double>(state_.time)) {
      pods_.erase(latest);
    } else {
      pods_.pop_back();
    }
  }
  state_.replicas = static_cast<int>(pods_.size());
  state_.consumers = count_members(state_.time - 1);
}

double QueueModel::process(double capacity_total, const std::vector<double>& capacities,
                           double arrivals) {
  const double backlog = produced_until_.back() - consumed_;
  if (partition_consumed_.empty()) return std::min(capacity_total, backlog + arrivals);
  // Partition p goes to member p mod n; each member shares its rate among its partitions.
  const std::size_t partitions = partition_consumed_.size();
  const std::size_t n = capacities.size();
  if (n == 0) return 0;
  const double per_partition_produced =
      (produced_until_.back() + arrivals) / static_cast<double>(partitions);
  double processed = 0;
  for (std::size_t member = 0; member < n; ++member) {
    std::vector<std::size_t> owned;
    std::vector<double> needs;
    for (std::size_t p = member; p < partitions; p += n) {
      owned.push_back(p);
      needs.push_back(per_partition_produced - partition_consumed_[p]);
    }
    const std::vector<double> got = water_fill(capacities[member], needs);
    for (std::size_t i = 0; i < owned.size(); ++i) {
      partition_consumed_[owned[i]] += got[i];
      processed += got[i];
    }
  }
  return processed;
}

double QueueModel::committed(const std::vector<double>& history, double at) {
  at = std::clamp(at, 0.0, static_cast<double>(history.size() - 1));
  const auto second = static_cast<std::size_t>(at);
  if (second + 1 >= history.size()) return history.back();
  const double within = at - static_cast<double>(second);
  return history[second] + (history[second + 1] - history[second]) * within;
}

const QueueState& QueueModel::advance(double arrival_rate) {
  const std::int64_t now = state_.time;
  const auto start = static_cast<double>(now);
  const int members = count_members(now);
  if (members != members_) {
    // The group changes when the last of this second's joiners joins (or now, for a departure).
    double changed_at = start;
    for (const Pod& pod : pods_) {
      if (pod.ready_at < start + 1) changed_at = std::max(changed_at, pod.ready_at);
    }
    stalled_until_ = std::max(stalled_until_, changed_at + config_.rebalance_pause);
    members_ = members;
  }
  const bool stalled = start + 1 <= stalled_until_;  // the whole second
  const bool stuck = std::any_of(
      config_.consumer_stalls.begin(), config_.consumer_stalls.end(),
      [now](const StallWindow& w) { return now >= w.start && now < w.start + w.length; });
  const int active = std::min(members, std::max(config_.partitions, 0));

  double capacity = 0;
  std::vector<double> capacities;  // per active member, in the order pods joined
  if (!stalled && !stuck) {
    int i = 0;
    for (const Pod& pod : pods_) {
      if (i == active) break;
      if (pod.ready_at >= static_cast<double>(now) + 1) continue;
      const double noise = config_.service_noise > 0 ? config_.service_noise * rng_.normal() : 0;
      const double rate = config_.service_rate * std::max(0.0, 1 + noise) *
                          share_of_second(std::max(pod.ready_at, stalled_until_), now);
      capacities.push_back(rate);
      capacity += rate;
      ++i;
    }
  }
  const double arrivals = std::max(arrival_rate, 0.0);
  const double processed = process(capacity, capacities, arrivals);

  state_.time = now + 1;
  state_.produced += arrivals;
  consumed_ = std::min(consumed_ + processed, state_.produced);
  produced_until_.push_back(state_.produced);
  rate_at_.push_back(arrivals);

  // The oldest unprocessed message's place in the arrival order: with partition skew, the most
  // behind partition's (every partition receives the same share of the arrivals).
  double position = consumed_;
  if (!partition_consumed_.empty()) {
    const double least = *std::min_element(partition_consumed_.begin(), partition_consumed_.end());
    position = std::min(least * static_cast<double>(partition_consumed_.size()), state_.produced);
    int behind = 0;
    const double share = state_.produced / static_cast<double>(partition_consumed_.size());
    for (double done : partition_consumed_) behind += share - done >= kNoLag ? 1 : 0;
    state_.partitions_with_backlog = behind;
  }
  // What polls see: the committed offsets.
  state_.consumed = consumed_;
  if (config_.commit_interval > 0) {
    consumed_at_.push_back(consumed_);
    position_at_.push_back(position);
    // The poll falls anywhere in the commit period; committed offsets never move back.
    const double at =
        static_cast<double>(state_.time) - commit_rng_.uniform() * config_.commit_interval;
    committed_ = std::max(committed_, committed(consumed_at_, at));
    committed_position_ = std::max(committed_position_, committed(position_at_, at));
    state_.consumed = committed_;
    position = committed_position_;
  }
  state_.lag = state_.produced - state_.consumed;

  state_.lag_seconds = 0;
  if (state_.produced - position >= kNoLag) {
    // The oldest unconsumed message arrived during second s, where production before s is at
    // most `position` and production before s + 1 is more.
    while (oldest_second_ + 1 < produced_until_.size() - 1 &&
           produced_until_[oldest_second_ + 1] <= position) {
      ++oldest_second_;
    }
    const double rate = rate_at_[oldest_second_];
    const double within = rate > 0 ? (position - produced_until_[oldest_second_]) / rate : 0;
    const double arrived = static_cast<double>(oldest_second_) + std::clamp(within, 0.0, 1.0);
    state_.lag_seconds = std::max(0.0, static_cast<double>(state_.time) - arrived);
  }
  state_.latency_seconds =
      state_.lag_seconds + (config_.service_rate > 0 ? 1 / config_.service_rate : 0);
  state_.consumers = members;
  state_.consuming = stalled || stuck ? 0 : active;
  state_.rebalancing = start < stalled_until_;
  state_.stuck = stuck;
  state_.arrivals = arrivals;
  state_.processed = processed;
  state_.capacity = capacity;
  return state_;
}

}  // namespace lagpilot::sim
