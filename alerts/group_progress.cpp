#include "alerts/group_progress.h"

#include "alerts/condition.h"

namespace lagpilot::alerts {

std::string GroupProgress::describe() const {
  std::string text;
  if (stalled && stalled_since) {
    text = "consumer group stalled: committed offsets not moving while lag > 0 since " +
           format_rfc3339(*stalled_since);
  }
  if (rewinding && last_rewind_at) {
    if (!text.empty()) text += "; ";
    text += "consumer group rewinding: committed offsets moved back by " +
            format_number(last_rewind_messages) + " at " + format_rfc3339(*last_rewind_at);
  }
  return text;
}

const GroupProgress& GroupProgressTracker::observe(const GroupProgressInput& input) {
  const WallTime now = input.time;
  if (previous_time_ && now <= *previous_time_) return progress_;  // stale or repeated poll

  // Lag growth.
  if (input.ingress_rate && input.egress_rate && input.consumer_lag) {
    progress_.lag_growing = *input.consumer_lag > 0 && *input.ingress_rate > *input.egress_rate;
  } else if (input.consumer_lag && previous_lag_) {
    progress_.lag_growing = *input.consumer_lag > *previous_lag_;
  } else {
    progress_.lag_growing.reset();
  }

  // Did the committed offsets move since the previous poll? nullopt: cannot tell.
  std::optional<bool> moved;
  if (input.committed_offset_total && previous_offset_) {
    if (*input.committed_offset_total < *previous_offset_) {
      progress_.rewinding = true;
      progress_.last_rewind_at = now;
      progress_.last_rewind_messages = *previous_offset_ - *input.committed_offset_total;
    }
    moved = *input.committed_offset_total != *previous_offset_;
  } else if (!input.committed_offset_total && input.egress_rate) {
    moved = *input.egress_rate > 0;
  }
  if (progress_.rewinding && progress_.last_rewind_at &&
      now - *progress_.last_rewind_at >= options_.rewind_hold) {
    progress_.rewinding = false;
  }

  const bool known_empty =
      (input.consumers && *input.consumers <= 0) || (input.replicas && *input.replicas <= 0);
  if (!input.consumer_lag || !moved) {
    // Cannot tell this poll: hold.
  } else if (*input.consumer_lag <= 0 || *moved || known_empty) {
    no_progress_since_.reset();
    no_progress_polls_ = 0;
    progress_.stalled = false;
    progress_.stalled_since.reset();
  } else {
    if (!no_progress_since_) no_progress_since_ = previous_time_.value_or(now);
    ++no_progress_polls_;
    if (no_progress_polls_ >= options_.stall_min_polls &&
        now - *no_progress_since_ >= options_.stall_after) {
      progress_.stalled = true;
      progress_.stalled_since = no_progress_since_;
    }
  }

  previous_time_ = now;
  if (input.committed_offset_total) previous_offset_ = input.committed_offset_total;
  if (input.consumer_lag) previous_lag_ = input.consumer_lag;
  return progress_;
}

}  // namespace lagpilot::alerts
