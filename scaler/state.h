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

class ScalerState {
 public:
  // Most entries kept per history, whatever the windows: with the default 300 s window a caller
  // deciding every second needs 300.
  static constexpr std::size_t kMaxEntries = 1000;

  // Called by the controller after it changed the target's replicas (not in DryRun, not when the
  // patch failed): feeds the rate limits and the cooldown. After an operator restart, replaying
  // status.scalingHistory (oldest first) restores them. from == to is ignored.
  void record_scale(WallTime time, int from, int to);

  // Maintained by decide(); public so tests and the simulator can seed or inspect them.
  void record_recommendation(WallTime time, int replicas);
  // source_answered: the poll succeeded with a lag or depth. Otherwise counts toward fallback.
  void record_poll(bool source_answered);
  // Drops what no window or period of `spec` can still see at `now`.
  void forget_expired(WallTime now, const ScalingSpec& spec);
  ThroughputEstimate& throughput() { return throughput_; }
  // The consumers that could work at each poll (group members, or the target's replicas when the
  // source cannot tell), newest last, at most the last kMembershipPolls. A throughput sample counts
  // only when this poll's count equals the recorded ones: no join, leave or rebalance stall inside
  // the window the egress rate was measured over.
  static constexpr std::size_t kMembershipPolls = 2;
  // Records `members` and says whether it equals every recorded count (true with none recorded).
  bool record_membership(std::optional<int> members);
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
  int consecutive_failures_ = 0;
  ThroughputEstimate throughput_;
  std::vector<std::optional<int>> recent_members_;
  bool seeded_ = false;
};

}  // namespace lagpilot::scaler
