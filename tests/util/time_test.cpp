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

TEST(FakeClock, AdvancesWallAndMonotonicTimeTogether) {
  FakeClock clock;
  const WallTime wall_start = clock.now();
  const MonotonicTime monotonic_start = clock.monotonic_now();
  EXPECT_EQ(clock.monotonic_now(), monotonic_start);
  clock.advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.now() - wall_start, std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.monotonic_now() - monotonic_start, std::chrono::milliseconds(1500));
  clock.sleep_for(std::chrono::seconds(2));  // a fake sleep is an advance
  EXPECT_EQ(clock.now() - wall_start, std::chrono::milliseconds(3500));
  EXPECT_EQ(clock.monotonic_now() - monotonic_start, std::chrono::milliseconds(3500));
}

TEST(SystemClock, MonotonicReadingNeverGoesBack) {
  SystemClock clock;
  const MonotonicTime first = clock.monotonic_now();
  const MonotonicTime second = clock.monotonic_now();
  EXPECT_GE(second, first);
  EXPECT_LE(second - first, std::chrono::seconds(10));  // the same clock as steady_clock
  EXPECT_LE(std::chrono::steady_clock::now() - second, std::chrono::seconds(10));
}

}  // namespace
}  // namespace lagpilot
