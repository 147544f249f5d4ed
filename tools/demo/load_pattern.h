#pragma once
// The demo's arrival rate over time: a base rate with a slow wave, a burst in the first seconds
// (so even a 20 s demo scales up and back down), then bursts at seeded times. Pure and
// deterministic: the same seed and duration give the same rate at every t.
#include <cstdint>
#include <string>
#include <vector>

namespace lagpilot::demo {

struct Burst {
  double start = 0;     // seconds since the demo started
  double duration = 0;  // seconds at full height (plus a short ramp on each side)
  double extra = 0;     // msg/s on top of the base rate
};

class LoadPattern {
 public:
  static constexpr double kBaseRate = 100;      // msg/s
  static constexpr double kWaveAmplitude = 15;  // msg/s, period kWavePeriod
  static constexpr double kWavePeriod = 60;     // seconds
  static constexpr double kRamp = 0.5;          // seconds to rise to (and fall from) a burst

  // Bursts after the first start at most `duration_seconds - 25`, so the end is calm.
  static LoadPattern generate(std::uint64_t seed, double duration_seconds);

  // Arrivals in msg/s at t seconds (>= 0), including a +-10 % per-second jitter from the seed.
  double rate(double t) const;
  const std::vector<Burst>& bursts() const { return bursts_; }
  // "base 100 msg/s; bursts: +612 msg/s at 1 s for 4.3 s, ..."
  std::string describe() const;

 private:
  LoadPattern(std::uint64_t seed, std::vector<Burst> bursts)
      : seed_(seed), bursts_(std::move(bursts)) {}

  std::uint64_t seed_;
  std::vector<Burst> bursts_;
};

// A uniform double in [0, 1) from (seed, index): stateless, so any sample can be recomputed.
double seeded_unit(std::uint64_t seed, std::uint64_t index);

}  // namespace lagpilot::demo
