#include "scaler/state.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lagpilot::scaler {
namespace {

template <typename Entry>
void drop_oldest_beyond_limit(std::vector<Entry>& entries) {
  if (entries.size() <= ScalerState::kMaxEntries) return;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.time < b.time; });
  entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(
                                                       entries.size() - ScalerState::kMaxEntries));
}

}  // namespace

void StartupDelayEstimate::scaled(WallTime time, int from, int to) {
  if (to < from) {
    pending_.reset();
  } else if (to > from && !pending_) {
    // A scale-up while one is measured: the older pods join first; their measurement stands.
    pending_ = Measurement{.scaled_at = time, .replicas = to};
  }
}

void StartupDelayEstimate::polled(WallTime time, std::optional<int> members) {
  const std::optional<WallTime> previous_poll = last_poll_;
  last_poll_ = time;
  if (!pending_ || time <= pending_->scaled_at) return;
  const auto seconds_since = [&](WallTime t) {
    return std::chrono::duration<double>(t - pending_->scaled_at).count();
  };
  // No poll since before the scale-up (e.g. scale events replayed after a restart): nothing
  // bounds when the members joined.
  if (!previous_poll || !members || seconds_since(time) > kMaxSeconds) {
    pending_.reset();
    return;
  }
  if (*members < pending_->replicas) return;
  const double joined_after = std::max(seconds_since(*previous_poll), 0.0);
  const double sample = std::clamp((joined_after + seconds_since(time)) / 2, 0.0, kMaxSeconds);
  seconds_ = seconds_ ? *seconds_ + kSmoothing * (sample - *seconds_) : sample;
  ++samples_;
  pending_.reset();
}

void ScalerState::record_scale(WallTime time, int from, int to) {
  if (from == to) return;
  scale_events_.push_back({time, from, to});
  drop_oldest_beyond_limit(scale_events_);
  if (!last_scale_time_ || time > *last_scale_time_) last_scale_time_ = time;
  if (to > from && (!last_scale_up_time_ || time > *last_scale_up_time_)) {
    last_scale_up_time_ = time;
  }
  startup_delay_.scaled(time, from, to);
}

void ScalerState::record_arrivals(WallTime time, double rate) {
  if (!std::isfinite(rate)) return;
  arrivals_.push_back({time, std::max(rate, 0.0)});
  if (arrivals_.size() > kArrivalReadings) arrivals_.erase(arrivals_.begin());
}

void ScalerState::record_recommendation(WallTime time, int replicas) {
  recommendations_.push_back({time, replicas});
  drop_oldest_beyond_limit(recommendations_);
}

void ScalerState::record_poll(bool source_answered) {
  consecutive_failures_ = source_answered ? 0 : consecutive_failures_ + 1;
}

void ScalerState::forget_expired(WallTime now, const ScalingSpec& spec) {
  using std::chrono::seconds;
  const auto longest_window = seconds(
      std::max({spec.scale_up.stabilization_seconds, spec.scale_down.stabilization_seconds, 0}));
  const auto longest_period =
      seconds(std::max({spec.scale_up.period_seconds, spec.scale_down.period_seconds, 0}));
  // Windows and periods include only entries strictly newer than now - length (as the HPA does).
  std::erase_if(recommendations_, [&](const TimedRecommendation& recommendation) {
    return recommendation.time <= now - longest_window;
  });
  std::erase_if(scale_events_,
                [&](const ScaleEvent& event) { return event.time <= now - longest_period; });
}

}  // namespace lagpilot::scaler
