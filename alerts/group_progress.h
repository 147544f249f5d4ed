#pragma once
// Is the consumer group making progress? Burrow-style checks on the committed offsets, fed once
// per poll:
//   stalled    lag > 0 and the committed offsets did not move (or egressRate is 0 when the offsets
//              are unknown) on every poll for at least stall_after and stall_min_polls polls, while
//              the group has members and the target replicas (an empty group or a target at 0 is
//              not stalled: it needs replicas, and ConsumerGroupEmpty covers it).
//   rewinding  the committed offsets moved backwards (reset, replay, expired offsets); reported for
//              rewind_hold after the last backwards move.
// Neither is worth more replicas: hold_scale_up() tells the controller not to add any.
// A poll without the data a check needs leaves that check's state as it was.
#include <chrono>
#include <optional>
#include <string>

#include "util/clock.h"

namespace lagpilot::alerts {

struct GroupProgressOptions {
  Duration stall_after = std::chrono::minutes(3);
  int stall_min_polls = 3;
  Duration rewind_hold = std::chrono::minutes(3);
};

struct GroupProgressInput {
  WallTime time;
  std::optional<double> committed_offset_total;
  std::optional<double> egress_rate;  // used when committed_offset_total is unknown
  std::optional<double> consumer_lag;
  std::optional<double> consumers;
  std::optional<double> replicas;
  std::optional<double> ingress_rate;
};

struct GroupProgress {
  bool stalled = false;
  std::optional<WallTime> stalled_since;  // no progress since (the last poll that saw progress)
  bool rewinding = false;
  std::optional<WallTime> last_rewind_at;
  double last_rewind_messages = 0;  // how far back the last rewind went
  // Lag grew: ingressRate > egressRate with lag > 0 when both rates are known, else lag rose since
  // the previous poll. nullopt when neither can tell.
  std::optional<bool> lag_growing;

  bool hold_scale_up() const { return stalled || rewinding; }
  // "consumer group stalled: committed offsets not moving while lag > 0 since <time>" and/or
  // "consumer group rewinding: committed offsets moved back by 5000 at <time>"; empty when
  // neither. Stable from poll to poll (no elapsed times), so status does not churn.
  std::string describe() const;
};

class GroupProgressTracker {
 public:
  explicit GroupProgressTracker(GroupProgressOptions options = {}) : options_(options) {}

  const GroupProgress& observe(const GroupProgressInput& input);
  const GroupProgress& current() const { return progress_; }

 private:
  GroupProgressOptions options_;
  GroupProgress progress_;
  std::optional<WallTime> previous_time_;
  std::optional<double> previous_offset_;
  std::optional<double> previous_lag_;
  std::optional<WallTime> no_progress_since_;  // start of the current run without progress
  int no_progress_polls_ = 0;
};

}  // namespace lagpilot::alerts
