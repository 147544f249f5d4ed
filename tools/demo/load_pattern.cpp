#include "tools/demo/load_pattern.h"

#include <cmath>
#include <cstdio>
#include <numbers>

namespace lagpilot::demo {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Streams of seeded_unit indexes, so burst parameters and per-second jitter never share a draw.
constexpr std::uint64_t kBurstStream = 1ULL << 40;
constexpr std::uint64_t kJitterStream = 2ULL << 40;

double between(std::uint64_t seed, std::uint64_t index, double low, double high) {
  return low + (high - low) * seeded_unit(seed, index);
}

// 0..1: how much of `burst` is on at t (linear ramps of kRamp on each side).
double burst_level(const Burst& burst, double t) {
  const double ramp = LoadPattern::kRamp;
  const double rise = burst.start - ramp;
  const double fall = burst.start + burst.duration;
  if (t <= rise || t >= fall + ramp) return 0;
  if (t < burst.start) return (t - rise) / ramp;
  if (t <= fall) return 1;
  return 1 - (t - fall) / ramp;
}

}  // namespace

double seeded_unit(std::uint64_t seed, std::uint64_t index) {
  const std::uint64_t bits =
      splitmix64(splitmix64(seed) ^ splitmix64(index * 0x2545f4914f6cdd1dULL));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

LoadPattern LoadPattern::generate(std::uint64_t seed, double duration_seconds) {
  std::vector<Burst> bursts;
  std::uint64_t draw = kBurstStream;
  // The first burst: early and big enough that one replica (150 msg/s) falls >10 s behind within
  // about three seconds, short enough that the backlog is gone well before 20 s.
  Burst first;
  first.start = 1.0;
  first.duration = between(seed, draw++, 3.5, 4.5);
  first.extra = between(seed, draw++, 550, 700);
  bursts.push_back(first);
  double next = first.start + first.duration;
  while (true) {
    Burst burst;
    burst.start = next + between(seed, draw++, 18, 35);
    if (burst.start > duration_seconds - 25) break;
    burst.duration = between(seed, draw++, 4, 10);
    burst.extra = between(seed, draw++, 300, 950);
    bursts.push_back(burst);
    next = burst.start + burst.duration;
  }
  return LoadPattern(seed, std::move(bursts));
}

double LoadPattern::rate(double t) const {
  if (t < 0) t = 0;
  double rate = kBaseRate + kWaveAmplitude * std::sin(2 * std::numbers::pi * t / kWavePeriod);
  for (const auto& burst : bursts_) rate += burst.extra * burst_level(burst, t);
  const auto second = static_cast<std::uint64_t>(t);
  const double jitter = between(seed_, kJitterStream + second, 0.9, 1.1);
  return rate * jitter;
}

std::string LoadPattern::describe() const {
  char text[96];
  std::snprintf(text, sizeof text, "base %.0f msg/s; bursts:", kBaseRate);
  std::string out = text;
  bool first = true;
  for (const auto& burst : bursts_) {
    std::snprintf(text, sizeof text, "%s +%.0f msg/s at %.0f s for %.1f s", first ? "" : ",",
                  burst.extra, burst.start, burst.duration);
    out += text;
    first = false;
  }
  return out;
}

}  // namespace lagpilot::demo
