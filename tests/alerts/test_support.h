#pragma once
// Shared fixtures for the alerts tests: explicit times aligned to a day, so that minute and
// coarse SLO buckets start at the test's time 0.
#include <chrono>

#include "util/clock.h"

namespace lagpilot::alerts::testing {

// 2023-11-15T00:00:00Z, a multiple of every bucket width.
inline const WallTime kStart{std::chrono::seconds(1'700'006'400)};

inline WallTime at(long long seconds_after_start) {
  return kStart + std::chrono::seconds(seconds_after_start);
}

}  // namespace lagpilot::alerts::testing
