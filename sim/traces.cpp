#include "sim/traces.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <set>
#include <sstream>

#include "sim/rng.h"
#include "sim/units.h"

namespace lagpilot::sim {
namespace {

constexpr std::uint64_t kTraceStream = 1;
constexpr std::uint64_t kRandomizedStream = 2;
constexpr std::int64_t kMaxDuration = 400LL * 86400;  // a year and then some, per-second

Error invalid(const std::string& message) { return Error{"InvalidTrace", message}; }

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string amount(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The key=value parameters of one generator: typed reads with defaults, unknown keys rejected.
class Params {
 public:
  Params(std::string generator, std::map<std::string, std::string> given)
      : generator_(std::move(generator)), given_(std::move(given)) {}

  double rate(const std::string& key, double fallback) {
    return number(key, fallback, 0, 1e9, "a rate in msg/s >= 0");
  }

  double number(const std::string& key, double fallback, double min, double max,
                const char* expected) {
    double value = fallback;
    if (auto it = given_.find(key); it != given_.end()) {
      const auto parsed = parse_number(it->second);
      if (!parsed || *parsed < min || *parsed > max) {
        fail(key, std::string("expected ") + expected + ", got \"" + it->second + "\"");
      } else {
        value = *parsed;
      }
    }
    note(key, amount(value));
    return value;
  }

  std::int64_t duration(const std::string& key, std::int64_t fallback, bool positive) {
    std::int64_t value = fallback;
    if (auto it = given_.find(key); it != given_.end()) {
      const auto parsed = parse_duration(it->second);
      if (!parsed || (positive && *parsed <= 0)) {
        fail(key, std::string("expected a ") + (positive ? "positive " : "") +
                      "duration such as 90s, 10m or 2h, got \"" + it->second + "\"");
      } else {
        value = *parsed;
      }
    }
    note(key, format_duration(value));
    return value;
  }

  void fail(const std::string& key, const std::string& message) {
    if (!error_) error_ = invalid("trace " + generator_ + ": " + key + ": " + message);
  }

  // The first problem, including parameters the generator does not have.
  std::optional<Error> finish() {
    for (const auto& [key, value] : given_) {
      if (!used_.count(key)) {
        std::string known;
        for (const auto& name : order_) known += (known.empty() ? "" : ", ") + name;
        fail(key, "unknown parameter (" + generator_ + " takes " + known + ")");
      }
    }
    return error_;
  }

  std::string description() const {
    std::string text = generator_;
    for (std::size_t i = 0; i < order_.size(); ++i) {
      text += (i == 0 ? ":" : ",") + order_[i] + "=" + values_.at(order_[i]);
    }
    return text;
  }

 private:
  void note(const std::string& key, std::string value) {
    if (used_.insert(key).second) order_.push_back(key);
    values_[key] = std::move(value);
  }

  std::string generator_;
  std::map<std::string, std::string> given_;
  std::set<std::string> used_;
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_;
  std::optional<Error> error_;
};

using Rates = std::vector<double>;

void constant(Params& p, Rates& rates) {
  const double rate = p.rate("rate", 2000);
  std::fill(rates.begin(), rates.end(), rate);
}

void step(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 2000);
  const double peak = p.rate("peak", 6000);
  const std::int64_t at = p.duration("at", n / 5, false);
  const std::int64_t until = p.duration("until", std::max(at, n * 3 / 5), false);
  if (until < at) p.fail("until", "must not be before at");
  for (std::int64_t t = 0; t < n; ++t) rates[t] = t >= at && t < until ? peak : base;
}

void spike(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 2000);
  const double peak = p.rate("peak", 9000);
  const std::int64_t at = p.duration("at", n / 4, false);
  const std::int64_t length = p.duration("length", 120, true);
  for (std::int64_t t = 0; t < n; ++t) rates[t] = t >= at && t < at + length ? peak : base;
}

void diurnal(Params& p, Rates& rates, Rng& rng) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double trough = p.rate("trough", 600);
  const double peak = p.rate("peak", 8000);
  const std::int64_t period = p.duration("period", std::max<std::int64_t>(n, 1), true);
  const double noise = p.number("noise", 0.05, 0, 0.5, "a relative noise between 0 and 0.5");
  // Per-minute noise factors, interpolated linearly in between.
  std::vector<double> factors(static_cast<std::size_t>(n / 60 + 2));
  for (auto& factor : factors) factor = std::clamp(1 + noise * rng.normal(), 0.5, 1.5);
  for (std::int64_t t = 0; t < n; ++t) {
    // Day fraction from midnight: the trough at 04:00, the peak at 16:00.
    const double day = static_cast<double>(t % period) / static_cast<double>(period);
    const double shape = 0.5 * (1 - std::cos(2 * std::numbers::pi * (day - 4.0 / 24)));
    const auto minute = static_cast<std::size_t>(t / 60);
    const double within = static_cast<double>(t % 60) / 60;
    const double factor = factors[minute] + (factors[minute + 1] - factors[minute]) * within;
    rates[t] = std::max(0.0, (trough + (peak - trough) * shape) * factor);
  }
}

void sawtooth(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 1000);
  const double peak = p.rate("peak", 7000);
  const std::int64_t period = p.duration("period", 15 * 60, true);
  for (std::int64_t t = 0; t < n; ++t) {
    rates[t] = base + (peak - base) * static_cast<double>(t % period) / static_cast<double>(period);
  }
}

void bursts(Params& p, Rates& rates, Rng& rng) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 1500);
  const double peak = p.rate("peak", 9000);
  const std::int64_t gap = p.duration("gap", 10 * 60, true);
  const std::int64_t length = p.duration("length", 90, true);
  std::fill(rates.begin(), rates.end(), base);
  double start = rng.exponential(static_cast<double>(gap));
  while (start < static_cast<double>(n)) {
    const double burst_length = std::max(10.0, rng.exponential(static_cast<double>(length)));
    const double height = rng.uniform(base + (peak - base) / 3, peak);
    const auto first = static_cast<std::int64_t>(start);
    const auto last = std::min(n, static_cast<std::int64_t>(start + burst_length));
    for (std::int64_t t = first; t < last; ++t) rates[t] = std::max(rates[t], height);
    start += rng.exponential(static_cast<double>(gap));
  }
}

void flash(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 1000);
  const double peak = p.rate("peak", 8000);
  const std::int64_t at = p.duration("at", n / 4, false);
  const std::int64_t rise = p.duration("rise", 10, true);
  const std::int64_t decay = p.duration("decay", 10 * 60, true);
  for (std::int64_t t = 0; t < n; ++t) {
    double shape = 0;  // 0 at base, 1 at peak
    if (t >= at && t < at + rise) {
      shape = static_cast<double>(t - at + 1) / static_cast<double>(rise);
    } else if (t >= at + rise) {
      shape = std::exp(-static_cast<double>(t - at - rise) / static_cast<double>(decay));
    }
    rates[t] = base + (peak - base) * shape;
  }
}

void pareto(Params& p, Rates& rates, Rng& rng) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 1000);
  const double peak = p.rate("peak", 9000);
  const double scale = p.rate("scale", 500);
  const double alpha = p.number("alpha", 1.5, 0.1, 10, "a tail index between 0.1 and 10");
  const std::int64_t gap = p.duration("gap", 10 * 60, true);
  const std::int64_t length = p.duration("length", 90, true);
  std::fill(rates.begin(), rates.end(), base);
  double start = rng.exponential(static_cast<double>(gap));
  while (start < static_cast<double>(n)) {
    const double burst_length = std::max(10.0, rng.exponential(static_cast<double>(length)));
    double u = rng.uniform();
    while (u <= 0) u = rng.uniform();
    // Pareto(scale, alpha) above base: P(excess > x) = (scale / x)^alpha for x >= scale.
    const double height = std::min(peak, base + scale * std::pow(u, -1 / alpha));
    const auto first = static_cast<std::int64_t>(start);
    const auto last = std::min(n, static_cast<std::int64_t>(start + burst_length));
    for (std::int64_t t = first; t < last; ++t) rates[t] = std::max(rates[t], height);
    start += rng.exponential(static_cast<double>(gap));
  }
}

void drop(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 4000);
  const double fraction = p.number("fraction", 0.2, 0, 1, "a fraction between 0 and 1");
  const std::int64_t at = p.duration("at", n / 4, false);
  const std::int64_t length = p.duration("length", n / 4 > 0 ? n / 4 : 1, true);
  for (std::int64_t t = 0; t < n; ++t) {
    rates[t] = t >= at && t < at + length ? base * fraction : base;
  }
}

void ramp(Params& p, Rates& rates) {
  const auto n = static_cast<std::int64_t>(rates.size());
  const double base = p.rate("base", 1000);
  const double peak = p.rate("peak", 8000);
  const double half = std::max(1.0, static_cast<double>(n) / 2);
  for (std::int64_t t = 0; t < n; ++t) {
    const double x = static_cast<double>(t) / half;
    rates[t] = base + (peak - base) * (x <= 1 ? x : 2 - x);
  }
}

Result<std::map<std::string, std::string>> split_params(const std::string& name,
                                                        const std::string& text) {
  std::map<std::string, std::string> params;
  if (text.empty()) return params;
  for (const std::string& piece : split_list(text, ',')) {
    const std::string item = trim(piece);
    const auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0) {
      return invalid("trace " + name + ": expected key=value, got \"" + item + "\"");
    }
    params[trim(item.substr(0, equals))] = trim(item.substr(equals + 1));
  }
  return params;
}

// Draws of the randomized suite, rounded so the descriptions read well.
class Draw {
 public:
  explicit Draw(Rng& rng) : rng_(rng) {}
  double uniform(double low, double high) { return rng_.uniform(low, high); }
  double log_uniform(double low, double high) {
    return std::exp(rng_.uniform(std::log(low), std::log(high)));
  }
  std::string rate(double value) const { return amount(std::round(value)); }
  std::string seconds(double value) const {
    return format_duration(static_cast<std::int64_t>(std::round(value)));
  }

 private:
  Rng& rng_;
};

}  // namespace

std::vector<std::string> randomized_trace_families() {
  return {"step", "spike", "flash", "diurnal", "sawtooth", "bursts", "pareto", "drop", "ramp"};
}

Result<RandomizedTrace> randomized_trace(const std::string& family, std::uint64_t seed,
                                         double max_rate, double max_ratio) {
  const auto families = randomized_trace_families();
  const auto index = std::find(families.begin(), families.end(), family) - families.begin();
  if (index == static_cast<std::ptrdiff_t>(families.size())) {
    return invalid("randomized trace \"" + family + "\": unknown family");
  }
  if (max_ratio < 2 || max_rate <= 0) {
    return invalid("randomized trace: need max_rate > 0 and max_ratio >= 2");
  }
  // One stream per family: adding a family does not move the others' draws.
  Rng rng(seed, kRandomizedStream + static_cast<std::uint64_t>(index) * 16);
  Draw draw(rng);
  const double high = std::round(draw.uniform(max_rate / 4, max_rate));
  const double low = std::max(1.0, std::round(high / draw.log_uniform(2, max_ratio)));
  const std::string base = "base=" + draw.rate(low);
  const std::string peak = "peak=" + draw.rate(high);
  RandomizedTrace trace{
      .family = family, .description = family, .duration = 2 * 3600, .seed = seed};
  // Every draw in its own statement: the order of draws must not depend on the compiler.
  std::string params = base + "," + peak;
  if (family == "step") {
    const double at = std::round(draw.uniform(10 * 60, 40 * 60));
    const double length = std::round(draw.log_uniform(2 * 60, 60 * 60));
    params += ",at=" + draw.seconds(at) + ",until=" + draw.seconds(at + length);
  } else if (family == "spike") {
    const double at = draw.uniform(10 * 60, 60 * 60);
    const double length = draw.log_uniform(30, 10 * 60);
    params += ",at=" + draw.seconds(at) + ",length=" + draw.seconds(length);
  } else if (family == "flash") {
    const double at = draw.uniform(10 * 60, 40 * 60);
    const double rise = draw.uniform(2, 30);
    const double decay = draw.log_uniform(2 * 60, 30 * 60);
    params +=
        ",at=" + draw.seconds(at) + ",rise=" + draw.seconds(rise) + ",decay=" + draw.seconds(decay);
  } else if (family == "diurnal") {
    const double period = 60 * std::round(draw.uniform(2 * 60, 12 * 60));
    trace.duration = static_cast<std::int64_t>(period);
    params =
        "trough=" + draw.rate(low) + "," + peak + ",period=" + draw.seconds(period) + ",noise=0.05";
  } else if (family == "sawtooth") {
    const double period = draw.log_uniform(5 * 60, 60 * 60);
    params += ",period=" + draw.seconds(period);
  } else if (family == "bursts" || family == "pareto") {
    trace.duration = 4 * 3600;
    if (family == "pareto") {
      const double scale = low * draw.uniform(0.5, 2);
      const double alpha = std::round(100 * draw.uniform(1.1, 2)) / 100;
      params += ",scale=" + draw.rate(scale) + ",alpha=" + amount(alpha);
    }
    const double gap = draw.log_uniform(3 * 60, 30 * 60);
    const double length = draw.log_uniform(30, 5 * 60);
    params += ",gap=" + draw.seconds(gap) + ",length=" + draw.seconds(length);
  } else if (family == "drop") {
    const double fraction = std::max(0.001, std::round(1000 * low / high) / 1000);
    const double at = draw.uniform(10 * 60, 40 * 60);
    const double length = draw.log_uniform(5 * 60, 60 * 60);
    params = "base=" + draw.rate(high) + ",fraction=" + amount(fraction) +
             ",at=" + draw.seconds(at) + ",length=" + draw.seconds(length);
  } else if (family == "ramp") {
    trace.duration = 60 * static_cast<std::int64_t>(std::round(draw.uniform(60, 4 * 60)));
  }
  trace.description += ":" + params;
  return trace;
}

std::vector<std::string> trace_generator_names() {
  return {"constant", "step",   "spike",  "flash", "diurnal",
          "sawtooth", "bursts", "pareto", "drop",  "ramp"};
}

std::string trace_help() {
  return R"(Built-in traces (NAME or NAME:key=value,...; rates in msg/s, durations like 90s, 10m, 2h):
  constant  rate=2000
  step      base=2000 peak=6000 at=<duration/5> until=<duration*3/5>
  spike     base=2000 peak=9000 at=<duration/4> length=2m
  diurnal   trough=600 peak=8000 period=<duration> noise=0.05
            one day compressed into `period`: trough at 04:00, peak at 16:00, per-minute noise
  flash     base=1000 peak=8000 at=<duration/4> rise=10s decay=10m
            flash crowd: linear rise to peak within `rise`, exponential decay back to base
  sawtooth  base=1000 peak=7000 period=15m
  bursts    base=1500 peak=9000 gap=10m length=90s
            random bursts: Poisson starts (mean gap), exponential lengths, random heights
  pareto    base=1000 peak=9000 scale=500 alpha=1.5 gap=10m length=90s
            bursts as above whose heights above base are Pareto(scale, alpha), capped at peak:
            most are small, a few are huge (a heavy tail)
  drop      base=4000 fraction=0.2 at=<duration/4> length=<duration/4>
            traffic drop: base falls to base*fraction from `at` for `length`, then back
  ramp      base=1000 peak=8000   linear up over the first half, down over the second
Anything else is a CSV file: "time,arrivals" rows (seconds, msg/s), piecewise constant.
)";
}

bool is_trace_generator(const std::string& argument) {
  const std::string name = argument.substr(0, argument.find(':'));
  const auto names = trace_generator_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

Result<Trace> generate_trace(const std::string& description, std::int64_t duration,
                             std::uint64_t seed) {
  const auto colon = description.find(':');
  const std::string name = description.substr(0, colon);
  if (!is_trace_generator(name)) {
    std::string known;
    for (const auto& generator : trace_generator_names()) {
      known += (known.empty() ? "" : ", ") + generator;
    }
    return invalid("trace \"" + name + "\": unknown generator (known: " + known + ")");
  }
  if (duration <= 0 || duration > kMaxDuration) {
    return invalid("trace " + name + ": duration must be between 1s and " +
                   format_duration(kMaxDuration));
  }
  auto given = split_params(
      name, colon == std::string::npos ? std::string() : description.substr(colon + 1));
  if (!given) return given.error();

  Params params(name, std::move(*given));
  Rng rng(seed, kTraceStream);
  Trace trace;
  trace.name = name;
  trace.rates.assign(static_cast<std::size_t>(duration), 0.0);
  if (name == "constant") constant(params, trace.rates);
  if (name == "step") step(params, trace.rates);
  if (name == "spike") spike(params, trace.rates);
  if (name == "diurnal") diurnal(params, trace.rates, rng);
  if (name == "sawtooth") sawtooth(params, trace.rates);
  if (name == "bursts") bursts(params, trace.rates, rng);
  if (name == "flash") flash(params, trace.rates);
  if (name == "pareto") pareto(params, trace.rates, rng);
  if (name == "drop") drop(params, trace.rates);
  if (name == "ramp") ramp(params, trace.rates);
  if (auto error = params.finish()) return *error;
  trace.description = params.description();
  return trace;
}

Result<Trace> parse_trace_csv(const std::string& text, const std::string& source,
                              std::optional<std::int64_t> duration) {
  struct Row {
    std::int64_t time;
    double rate;
  };
  std::vector<Row> rows;
  std::istringstream in(text);
  std::string line;
  int line_number = 0;
  bool header_allowed = true;
  auto fail = [&](const std::string& field, const std::string& message) {
    return invalid(source + ":" + std::to_string(line_number) + ": " + field + ": " + message);
  };
  while (std::getline(in, line)) {
    ++line_number;
    const std::string content = trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    std::vector<std::string> fields;
    std::size_t position = 0;
    while (true) {
      const auto comma = content.find(',', position);
      fields.push_back(trim(content.substr(position, comma - position)));
      if (comma == std::string::npos) break;
      position = comma + 1;
    }
    if (header_allowed && !fields.empty() && !parse_number(fields[0])) {
      header_allowed = false;
      if (fields.size() != 2) {
        return fail("header",
                    "expected 2 columns (time, arrivals), got " + std::to_string(fields.size()));
      }
      continue;  // a header row such as "time,arrivals"
    }
    header_allowed = false;
    if (fields.size() != 2) {
      return fail("row", "expected 2 fields (time, arrivals), got " +
                             std::to_string(fields.size()) + ": \"" + content + "\"");
    }
    const auto time = parse_number(fields[0]);
    if (!time) return fail("time", "not a number: \"" + fields[0] + "\"");
    if (*time < 0 || *time > static_cast<double>(kMaxDuration) || *time != std::floor(*time)) {
      return fail("time", "expected whole seconds >= 0, got \"" + fields[0] + "\"");
    }
    const auto rate = parse_number(fields[1]);
    if (!rate) return fail("arrivals", "not a number: \"" + fields[1] + "\"");
    if (*rate < 0) return fail("arrivals", "must be >= 0, got \"" + fields[1] + "\"");
    const auto seconds = static_cast<std::int64_t>(*time);
    if (!rows.empty() && seconds <= rows.back().time) {
      return fail("time",
                  "must increase: " + fields[0] + " after " + std::to_string(rows.back().time));
    }
    rows.push_back({seconds, *rate});
  }
  if (rows.empty()) return invalid(source + ": no rows (expected \"time,arrivals\" lines)");

  const std::int64_t length = duration.value_or(rows.back().time + 1);
  if (length <= 0 || length > kMaxDuration) {
    return invalid(source + ": duration must be between 1s and " + format_duration(kMaxDuration));
  }
  Trace trace;
  trace.name = source;
  trace.description = source;
  trace.rates.assign(static_cast<std::size_t>(length), 0.0);
  std::size_t next = 0;
  double rate = 0;
  for (std::int64_t t = 0; t < length; ++t) {
    while (next < rows.size() && rows[next].time <= t) rate = rows[next++].rate;
    trace.rates[static_cast<std::size_t>(t)] = rate;
  }
  return trace;
}

Result<Trace> read_trace_csv(const std::string& path, std::optional<std::int64_t> duration) {
  std::ifstream in(path);
  if (!in) return invalid(path + ": cannot read trace file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_trace_csv(buffer.str(), path, duration);
}

Result<Trace> load_trace(const std::string& argument, std::optional<std::int64_t> duration,
                         std::uint64_t seed) {
  if (is_trace_generator(argument)) {
    return generate_trace(argument, duration.value_or(kDefaultGeneratedDuration), seed);
  }
  return read_trace_csv(argument, duration);
}

}  // namespace lagpilot::sim
