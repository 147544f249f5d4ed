#pragma once
// The one duration syntax of lagpilot's flags, trace parameters and spec files (Go style, plus
// days and plain seconds).
#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lagpilot {

// One or more terms <number><unit>, unit ms, s, m, h or d ("1m30s", "90s", "2h", "500ms", "1.5h",
// "1d12h"), or a plain number of seconds ("90"). Decimal digits with an optional fraction; no sign,
// exponent or spaces, and no bare number after a term ("1m30" is ambiguous). At most 10^12 s.
// Error "InvalidDuration": "\"2x\" is not a duration (e.g. 20s, 2m, 1m30s)"; callers put the flag
// or field in front of it.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// parse_duration, for settings kept in whole seconds: "1500ms" is an error ("InvalidDuration",
// "\"1500ms\" is not a whole number of seconds").
Result<std::chrono::seconds> parse_whole_seconds(std::string_view text);

// parse_duration rounded to the nearest second, half up ("0.5" -> 1 s, "1499ms" -> 1 s).
Result<std::chrono::seconds> parse_rounded_seconds(std::string_view text);

}  // namespace lagpilot
