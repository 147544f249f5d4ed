#include "sim/model.h"

#include <algorithm>

namespace lagpilot::sim {
namespace {

constexpr std::uint64_t kServiceStream = 2;
// Less than one message left in the fluid model is no lag.
constexpr double kNoLag = 0.5;

}  // namespace

QueueModel::QueueModel(const ModelConfig& config, int initial_replicas)
    : config_(config), rng_(config.seed, kServiceStream) {
  // Already members before time 0.
  pods_.assign(static_cast<std::size_t>(std::max(initial_replicas, 0)), Pod{.ready_at = -1});
  members_ = static_cast<int>(pods_.size());
  state_.replicas = members_;
  state_.consumers = members_;
  state_.consuming = std::min(members_, config_.partitions);
  state_.partitions = config_.partitions;
  state_.latency_seconds = config_.service_rate > 0 ? 1 / config_.service_rate : 0;
  produced_until_.push_back(0);
}

int QueueModel::count_members(std::int64_t time) const {
  // Pods are created in order with one start-up delay, so ready_at never decreases along pods_.
  int members = 0;
  for (const Pod& pod : pods_) {
    if (pod.ready_at > time) break;
    ++members;
  }
  return members;
}

void QueueModel::set_replicas(int replicas) {
  const auto wanted = static_cast<std::size_t>(std::max(replicas, 0));
  while (pods_.size() < wanted)
    pods_.push_back(Pod{.ready_at = state_.time + config_.startup_delay});
  // The youngest pods go first: those still starting, then the newest members.
  while (pods_.size() > wanted) pods_.pop_back();
  state_.replicas = static_cast<int>(pods_.size());
  state_.consumers = count_members(state_.time - 1);
}

const QueueState& QueueModel::advance(double arrival_rate) {
  const std::int64_t now = state_.time;
  const int members = count_members(now);
  if (members != members_) {
    stalled_until_ = std::max(stalled_until_, now + config_.rebalance_pause);
    members_ = members;
  }
  const bool stalled = now < stalled_until_;
  const bool stuck = std::any_of(
      config_.consumer_stalls.begin(), config_.consumer_stalls.end(),
      [now](const StallWindow& w) { return now >= w.start && now < w.start + w.length; });
  const int active = std::min(members, std::max(config_.partitions, 0));

  double capacity = 0;
  if (!stalled && !stuck) {
    for (int i = 0; i < active; ++i) {
      const double noise = config_.service_noise > 0 ? config_.service_noise * rng_.normal() : 0;
      capacity += config_.service_rate * std::max(0.0, 1 + noise);
    }
  }
  const double arrivals = std::max(arrival_rate, 0.0);
  const double processed = std::min(capacity, state_.lag + arrivals);

  state_.time = now + 1;
  state_.produced += arrivals;
  state_.consumed = std::min(state_.consumed + processed, state_.produced);
  state_.lag = state_.produced - state_.consumed;
  produced_until_.push_back(state_.produced);
  rate_at_.push_back(arrivals);

  state_.lag_seconds = 0;
  if (state_.lag >= kNoLag) {
    // The oldest unconsumed message arrived during second s, where production before s is at
    // most `consumed` and production before s + 1 is more.
    while (oldest_second_ + 1 < produced_until_.size() - 1 &&
           produced_until_[oldest_second_ + 1] <= state_.consumed) {
      ++oldest_second_;
    }
    const double rate = rate_at_[oldest_second_];
    const double within = rate > 0 ? (state_.consumed - produced_until_[oldest_second_]) / rate : 0;
    const double arrived = static_cast<double>(oldest_second_) + std::clamp(within, 0.0, 1.0);
    state_.lag_seconds = std::max(0.0, static_cast<double>(state_.time) - arrived);
  }
  state_.latency_seconds =
      state_.lag_seconds + (config_.service_rate > 0 ? 1 / config_.service_rate : 0);
  state_.consumers = members;
  state_.consuming = stalled || stuck ? 0 : active;
  state_.rebalancing = stalled;
  state_.stuck = stuck;
  state_.arrivals = arrivals;
  state_.processed = processed;
  state_.capacity = capacity;
  return state_;
}

}  // namespace lagpilot::sim
