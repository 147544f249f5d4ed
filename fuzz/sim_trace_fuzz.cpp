// The simulator's traces (sim/traces.h): CSV trace files and generator descriptions
// ("step:base=2000,peak=9000"). The input is a CSV file; its first line is also tried as a
// generator description. Invariants: no crash or undefined behaviour; errors are values with code
// InvalidTrace naming the file and line or the generator; an accepted trace has the asked length
// and finite rates >= 0; writing an accepted CSV trace back as CSV and parsing it gives the same
// rates.
#include <cmath>
#include <sstream>

#include "fuzz/fuzz_check.h"
#include "sim/traces.h"

namespace {

// Short runs keep each input fast; the parsers' own limits are exercised through the values.
constexpr std::int64_t kDuration = 600;

void check_rates(const lagpilot::sim::Trace& trace, std::int64_t duration) {
  FUZZ_CHECK(trace.duration() == duration, std::to_string(trace.duration()));
  for (double rate : trace.rates) {
    FUZZ_CHECK(std::isfinite(rate) && rate >= 0, std::to_string(rate));
  }
}

std::string as_csv(const lagpilot::sim::Trace& trace) {
  std::ostringstream csv;
  csv.precision(17);
  csv << "time,arrivals\n";
  for (std::size_t t = 0; t < trace.rates.size(); ++t) {
    if (t == 0 || trace.rates[t] != trace.rates[t - 1]) csv << t << "," << trace.rates[t] << "\n";
  }
  return csv.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(lagpilot::fuzz::text_of(data, size));
  const auto trace = lagpilot::sim::parse_trace_csv(text, "fuzz.csv", kDuration);
  if (!trace) {
    FUZZ_CHECK(lagpilot::fuzz::names(trace.error(), "InvalidTrace", "fuzz.csv"),
               trace.error().message);
  } else {
    check_rates(*trace, kDuration);
    const auto again = lagpilot::sim::parse_trace_csv(as_csv(*trace), "again.csv", kDuration);
    FUZZ_CHECK(again.ok() && again->rates == trace->rates, as_csv(*trace));
  }

  const std::string first_line = text.substr(0, text.find('\n'));
  if (lagpilot::sim::is_trace_generator(first_line)) {
    const std::uint64_t seed = size;
    const auto generated = lagpilot::sim::generate_trace(first_line, kDuration, seed);
    if (!generated) {
      FUZZ_CHECK(generated.error().code == "InvalidTrace" && !generated.error().message.empty(),
                 generated.error().message);
    } else {
      check_rates(*generated, kDuration);
    }
  }
  return 0;
}
