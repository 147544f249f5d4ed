#include "util/duration.h"

#include <gtest/gtest.h>

namespace lagpilot {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Duration, ParsesGoStyleTermsDaysAndPlainSeconds) {
  EXPECT_EQ(*parse_duration("90s"), seconds(90));
  EXPECT_EQ(*parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(*parse_duration("2h"), seconds(7200));
  EXPECT_EQ(*parse_duration("2h45m"), seconds(9900));
  EXPECT_EQ(*parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("1s500ms"), milliseconds(1500));
  EXPECT_EQ(*parse_duration("1.5h"), seconds(5400));
  EXPECT_EQ(*parse_duration("1d"), seconds(86400));
  EXPECT_EQ(*parse_duration("1d1m1s"), seconds(86461));
  EXPECT_EQ(*parse_duration("90"), seconds(90));
  EXPECT_EQ(*parse_duration("0.25"), milliseconds(250));
  EXPECT_EQ(*parse_duration("0s"), seconds(0));
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "h", "s", "2x", "-5", "-5s", "+5s", "5 m", " 5s", "5s ", "1h30",
                          "abc", "1e3", "1..5s", "5us", "1h-30m", "1000000000001s"}) {
    const auto parsed = parse_duration(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, "InvalidDuration");
    EXPECT_EQ(parsed.error().message,
              "\"" + std::string(bad) + "\" is not a duration (e.g. 20s, 2m, 1m30s)");
  }
}

TEST(Duration, WholeSecondsRejectFractions) {
  EXPECT_EQ(*parse_whole_seconds("1m30s"), seconds(90));
  EXPECT_EQ(*parse_whole_seconds("1.5m"), seconds(90));
  EXPECT_EQ(*parse_whole_seconds("2000ms"), seconds(2));
  const auto fraction = parse_whole_seconds("1500ms");
  ASSERT_FALSE(fraction.ok());
  EXPECT_EQ(fraction.error().message, "\"1500ms\" is not a whole number of seconds");
  EXPECT_FALSE(parse_whole_seconds("2x").ok());
}

TEST(Duration, RoundedSecondsRoundHalfUp) {
  EXPECT_EQ(*parse_rounded_seconds("0.5"), seconds(1));
  EXPECT_EQ(*parse_rounded_seconds("1499ms"), seconds(1));
  EXPECT_EQ(*parse_rounded_seconds("90.4"), seconds(90));
  EXPECT_EQ(*parse_rounded_seconds("1.5h"), seconds(5400));
  EXPECT_FALSE(parse_rounded_seconds("1h30").ok());
}

}  // namespace
}  // namespace lagpilot
