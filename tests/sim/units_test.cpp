#include "sim/units.h"

#include <gtest/gtest.h>

namespace lagpilot::sim {
namespace {

TEST(Units, ParsesDurations) {
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("20m"), 1200);
  EXPECT_EQ(parse_duration("2h"), 7200);
  EXPECT_EQ(parse_duration("1d"), 86400);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  EXPECT_EQ(parse_duration("1.5h"), 5400);
  EXPECT_EQ(parse_duration("0s"), 0);
  for (const char* bad : {"", "h", "2x", "-5", "5 m", "1h30", "abc"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(Units, FormatsDurations) {
  EXPECT_EQ(format_duration(7200), "2h");
  EXPECT_EQ(format_duration(5400), "1h30m");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(86400 + 61), "1d1m1s");
  EXPECT_EQ(format_duration(0), "0s");
}

TEST(Units, ParsesNumbersAndCounts) {
  EXPECT_EQ(parse_number("400"), 400);
  EXPECT_EQ(parse_number("0.1"), 0.1);
  EXPECT_EQ(parse_number("1e3"), 1000);
  EXPECT_FALSE(parse_number("4x"));
  EXPECT_FALSE(parse_number(" 4"));
  EXPECT_FALSE(parse_number("inf"));
  EXPECT_EQ(parse_count("24"), 24);
  EXPECT_FALSE(parse_count("-1"));
  EXPECT_FALSE(parse_count("2.5"));
}

}  // namespace
}  // namespace lagpilot::sim
