#pragma once
// Number formatting for decision reasons: "48,200 msgs", "3,400 msg/s", "2.5 s".
#include <cstdint>
#include <string>

namespace lagpilot::scaler {

// 48200 -> "48,200"; -1234 -> "-1,234".
std::string format_count(std::int64_t value);
// Rounded to what a human needs: |v| >= 100 -> integer with separators ("3,400"); >= 10 -> one
// decimal ("12.5"); smaller -> two decimals ("0.25"); trailing zeros dropped ("40", "2.5").
std::string format_amount(double value);

}  // namespace lagpilot::scaler
