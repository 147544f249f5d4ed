#pragma once
// A small deterministic random number generator for the simulator: the same seed gives the same
// sequence with every compiler and standard library (std::normal_distribution and friends are
// implementation-defined). xoshiro256** seeded through splitmix64.
#include <cstdint>
#include <optional>

namespace lagpilot::sim {

class Rng {
 public:
  // `stream` separates independent uses of one seed (trace generation, service noise), so that
  // changing one does not shift the numbers the other sees.
  explicit Rng(std::uint64_t seed, std::uint64_t stream = 0);

  std::uint64_t next();
  double uniform();                         // [0, 1)
  double uniform(double low, double high);  // [low, high)
  double normal();                          // standard normal (Box-Muller)
  double exponential(double mean);

 private:
  std::uint64_t state_[4];
  std::optional<double> spare_normal_;
};

}  // namespace lagpilot::sim
