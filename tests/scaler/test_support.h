#pragma once
// Shared fixtures for the scaler tests: explicit times and observations.
#include <chrono>
#include <cstdint>

#include "scaler/observation.h"
#include "util/clock.h"

namespace lagpilot::scaler::testing {

inline const WallTime kStart{std::chrono::seconds(1'700'000'000)};

inline WallTime at(int seconds_after_start) {
  return kStart + std::chrono::seconds(seconds_after_start);
}

inline Observation lag_observation(WallTime time, std::int64_t lag) {
  Observation observation;
  observation.time = time;
  observation.consumer_lag = lag;
  return observation;
}

inline Observation failed_observation(WallTime time, const char* error = "broker unreachable") {
  Observation observation;
  observation.time = time;
  observation.ok = false;
  observation.error = error;
  return observation;
}

}  // namespace lagpilot::scaler::testing
