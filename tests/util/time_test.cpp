#include <gtest/gtest.h>

#include "util/clock.h"

namespace lagpilot {
namespace {

TEST(Rfc3339, RoundTripsSeconds) {
  auto t = parse_rfc3339("2026-11-22T10:04:10Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2026-11-22T10:04:10Z");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1795341850);
}

TEST(Rfc3339, AcceptsFractionAndOffset) {
  auto t = parse_rfc3339("2026-11-22T12:04:10.500+02:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(format_rfc3339(*t), "2026-11-22T10:04:10Z");
}

TEST(Rfc3339, RejectsMalformed) {
  EXPECT_FALSE(parse_rfc3339("yesterday").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-11-22T10:04:10").has_value());
  EXPECT_FALSE(parse_rfc3339("2026-11-22T10:04:10Zjunk").has_value());
}

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock clock;
  auto start = clock.now();
  EXPECT_EQ(clock.now(), start);
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(clock.now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace lagpilot
