#pragma once
// Arrival-rate traces: how many messages per second arrive at each simulated second. From a CSV
// file (time, arrivals/s) or from a built-in generator with a seed.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lagpilot::sim {

struct Trace {
  std::string name;           // "step", "bursts", or the CSV file's path
  std::string description;    // the generator with every parameter, e.g. "step:base=2000,..."
  std::vector<double> rates;  // msg/s arriving during second t, t = 0 .. duration - 1

  std::int64_t duration() const { return static_cast<std::int64_t>(rates.size()); }
};

// Built-in generators; their parameters and defaults are in trace_help().
//   constant  rate                                  (tests, closed-form checks)
//   step      base, peak, at, until                 base, peak from `at` until `until`, base again
//   spike     base, peak, at, length                a short burst of `peak`
//   diurnal   trough, peak, period, noise           one day compressed into `period` (default:
//                                                   the whole run): night trough, afternoon peak,
//                                                   per-minute noise
//   flash     base, peak, at, rise, decay           flash crowd: linear rise to peak within
//                                                   `rise`, then exponential decay (time constant
//                                                   `decay`) back to base
//   sawtooth  base, peak, period                    linear ramps base -> peak, then a drop
//   bursts    base, peak, gap, length               random bursts (Poisson starts, mean `gap`;
//                                                   exponential lengths, mean `length`; heights
//                                                   uniform in the upper two thirds of base..peak)
//   pareto    base, peak, scale, alpha, gap, length bursts as above, heights above base
//                                                   Pareto(scale, alpha) capped at peak
//   drop      base, fraction, at, length            traffic drop: base * fraction for `length`
//   ramp      base, peak                            linear base -> peak over the first half, back
//                                                   over the second
std::vector<std::string> trace_generator_names();
std::string trace_help();
// The default run length of generators when no duration is given.
inline constexpr std::int64_t kDefaultGeneratedDuration = 2 * 3600;

// True when `argument` names a generator ("step", "spike:peak=9000"), false for a file path.
bool is_trace_generator(const std::string& argument);

// `description`: "name" or "name:key=value,key=value" (durations like 10m, rates in msg/s).
// Error code "InvalidTrace", the message names the generator and parameter.
Result<Trace> generate_trace(const std::string& description, std::int64_t duration,
                             std::uint64_t seed);

// bench_scaling's randomized suite: for a family (a generator but constant) and a seed, a
// generator description with every parameter drawn from the seed, so the trace can be rerun by
// name with `lagpilot simulate --trace DESCRIPTION --duration D --seed N`. The highest rate is
// drawn in [max_rate / 4, max_rate]; the lowest is that divided by a ratio drawn log-uniformly in
// [2, max_ratio]; times, lengths, gaps and periods are drawn per family (traces.cpp). The same
// family and seed give the same description.
struct RandomizedTrace {
  std::string family;
  std::string description;  // for generate_trace, with `seed` for the random generators
  std::int64_t duration = 0;
  std::uint64_t seed = 0;
};
std::vector<std::string> randomized_trace_families();
// Error code "InvalidTrace" for an unknown family or max_ratio < 2.
Result<RandomizedTrace> randomized_trace(const std::string& family, std::uint64_t seed,
                                         double max_rate, double max_ratio = 30);

// CSV: one "time,arrivals" row per change (time in seconds, increasing; arrivals in msg/s, >= 0),
// optional header row, '#' comments and blank lines. Rates are piecewise constant: a row holds
// until the next row's time; before the first row the rate is 0. Without `duration` the trace
// ends one second after the last row; a longer duration holds the last rate. Errors name the
// source, the line and the field ("trace.csv:7: arrivals: not a number: \"abc\"").
Result<Trace> parse_trace_csv(const std::string& text, const std::string& source,
                              std::optional<std::int64_t> duration);
Result<Trace> read_trace_csv(const std::string& path, std::optional<std::int64_t> duration);

// A generator description or a CSV path. Generators default to kDefaultGeneratedDuration.
Result<Trace> load_trace(const std::string& argument, std::optional<std::int64_t> duration,
                         std::uint64_t seed);

}  // namespace lagpilot::sim
