#pragma once
// What the engine remembers between decisions for one QueueMonitor. A plain value: the controller
// keeps one per monitor in memory (like the HPA controller, nothing is persisted), the simulator
// copies it freely. Its size is bounded by the longest window/period in the spec.
#include <cstddef>
#include <optional>
#include <vector>

#include "scaler/spec.h"
#include "scaler/throughput.h"
#include "util/clock.h"

namespace lagpilot::scaler {

// A recommendation after policy, activation and tolerance, before bounds/stabilization/rate limits.
struct TimedRecommendation {
  WallTime time;
  int replicas = 0;
};

struct ScaleEvent {
  WallTime time;
  int from = 0;
  int to = 0;
};

// One poll's arrival rate (the source's ingress rate), for the planner's trend and noise.
struct ArrivalReading {
  WallTime time;
  double rate = 0;  // msg/s
};

// Seconds from a scale-up to its new consumers doing work, learned per monitor. A scale-up starts
// a measurement; the first poll whose group has at least the new replica count as members ends it.
// The members joined between that poll and the one before, so the sample is the midpoint of the
// two minus the scale-up time. Samples are bounded to [0, kMaxSeconds] and smoothed (EWMA,
// weight kSmoothing; the first is taken as is). A scale-down cancels the measurement (it deletes
// starting pods first, so the count says nothing), as does a source that reports no members, a
// first poll with no poll before it (scale events replayed after a restart), and a measurement
// older than kMaxSeconds gives up.
class StartupDelayEstimate {
 public:
  static constexpr double kMaxSeconds = 600;
  static constexpr double kSmoothing = 0.5;

  void scaled(WallTime time, int from, int to);
  // One poll: its time and the group's members (nullopt when the source does not report them).
  void polled(WallTime time, std::optional<int> members);
  std::optional<double> seconds() const { return seconds_; }
  int samples() const { return samples_; }

 private:
  struct Measurement {
    WallTime scaled_at;
    int replicas = 0;  // the scale-up's target count
  };
  std::optional<Measurement> pending_;
  std::optional<WallTime> last_poll_;
  std::optional<double> seconds_;
  int samples_ = 0;
};

class ScalerState {
 public:
  // Most entries kept per history, whatever the windows: with the default 300 s window a caller
  // deciding every second needs 300.
  static constexpr std::size_t kMaxEntries = 1000;

  // Called by the controller after it changed the target's replicas (not in DryRun, not when the
  // patch failed): feeds the rate limits, the cooldown and the start-up delay learning. After an
  // operator restart, replaying status.scalingHistory (oldest first) restores them. from == to is
  // ignored.
  void record_scale(WallTime time, int from, int to);

  // Maintained by decide(); public so tests and the simulator can seed or inspect them.
  void record_recommendation(WallTime time, int replicas);
  // source_answered: the poll succeeded with a lag or depth. Otherwise counts toward fallback.
  void record_poll(bool source_answered);
  // Drops what no window or period of `spec` can still see at `now`.
  void forget_expired(WallTime now, const ScalingSpec& spec);
  ThroughputEstimate& throughput() { return throughput_; }
  // Maintained by decide() from every successful poll with an ingress rate; the last
  // kArrivalReadings are kept.
  static constexpr std::size_t kArrivalReadings = 12;
  void record_arrivals(WallTime time, double rate);
  const std::vector<ArrivalReading>& arrivals() const { return arrivals_; }
  // Maintained by decide() (polls) and record_scale() (scale-ups).
  StartupDelayEstimate& startup_delay() { return startup_delay_; }
  const StartupDelayEstimate& startup_delay() const { return startup_delay_; }
  // The latest scale-up, for the pods that may still be starting.
  std::optional<WallTime> last_scale_up_time() const { return last_scale_up_time_; }
  // False until the first decide(): the HPA's initial recommendation (the current replicas) is
  // recorded then, so nothing scales down before a stabilization window has seen the load.
  bool seeded() const { return seeded_; }
  void mark_seeded() { seeded_ = true; }

  const std::vector<TimedRecommendation>& recommendations() const { return recommendations_; }
  const std::vector<ScaleEvent>& scale_events() const { return scale_events_; }
  std::optional<WallTime> last_scale_time() const { return last_scale_time_; }
  int consecutive_failures() const { return consecutive_failures_; }
  const ThroughputEstimate& throughput() const { return throughput_; }

 private:
  std::vector<TimedRecommendation> recommendations_;
  std::vector<ScaleEvent> scale_events_;
  std::optional<WallTime> last_scale_time_;
  std::optional<WallTime> last_scale_up_time_;
  std::vector<ArrivalReading> arrivals_;
  StartupDelayEstimate startup_delay_;
  int consecutive_failures_ = 0;
  ThroughputEstimate throughput_;
  bool seeded_ = false;
};

}  // namespace lagpilot::scaler
