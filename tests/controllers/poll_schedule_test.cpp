#include "controllers/poll_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

namespace lagpilot::controllers {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const WallTime kStart{seconds(1'796'000'000)};

Duration offset_in_interval(WallTime at, Duration phase, Duration interval) {
  Duration offset = (at.time_since_epoch() - phase) % interval;
  return offset < Duration::zero() ? offset + interval : offset;
}

TEST(PollSchedule, PhaseIsFixedPerKeyAndInsideTheInterval) {
  EXPECT_EQ(poll_phase("shop/orders", seconds(10)), poll_phase("shop/orders", seconds(10)));
  EXPECT_NE(poll_phase("shop/orders", seconds(10)), poll_phase("shop/payments", seconds(10)));
  for (auto interval : {seconds(1), seconds(10), seconds(3600)}) {
    Duration phase = poll_phase("shop/orders", interval);
    EXPECT_GE(phase, Duration::zero());
    EXPECT_LT(phase, interval);
  }
  EXPECT_EQ(poll_phase("shop/orders", Duration::zero()), Duration::zero());
}

TEST(PollSchedule, MinimumGapIsATenthOfTheIntervalAtMostOneSecond) {
  EXPECT_EQ(min_poll_gap(seconds(1)), milliseconds(100));
  EXPECT_EQ(min_poll_gap(seconds(5)), milliseconds(500));
  EXPECT_EQ(min_poll_gap(seconds(10)), seconds(1));
  EXPECT_EQ(min_poll_gap(seconds(300)), seconds(1));
}

TEST(PollSchedule, APollOnItsSlotIsDueOneIntervalAfterTheSlotHoweverLongItTook) {
  const Duration interval = seconds(10);
  const Duration phase = poll_phase("shop/orders", interval);
  WallTime slot = kStart - offset_in_interval(kStart, phase, interval);
  for (Duration took : {Duration::zero(), Duration(milliseconds(40)), Duration(seconds(3))}) {
    WallTime finished = slot + took;
    EXPECT_EQ(finished + next_poll_delay("shop/orders", interval, finished), slot + interval);
  }
}

TEST(PollSchedule, EveryDelayLandsOnASlotBetweenTheMinimumGapAndOneIntervalPlusIt) {
  for (Duration interval : {Duration(seconds(1)), Duration(seconds(10)), Duration(seconds(60))}) {
    const Duration phase = poll_phase("ns/monitor", interval);
    for (Duration step = Duration::zero(); step < 2 * interval; step += interval / 97) {
      WallTime now = kStart + step + milliseconds(3);
      Duration delay = next_poll_delay("ns/monitor", interval, now);
      EXPECT_GE(delay, min_poll_gap(interval));
      EXPECT_LT(delay, interval + min_poll_gap(interval));
      EXPECT_EQ(offset_in_interval(now + delay, phase, interval), Duration::zero());
    }
  }
}

TEST(PollSchedule, AThousandMonitorsCreatedTogetherPollEvenlyOverTheInterval) {
  // Their first reconciles all end within the same second; the next polls spread anyway.
  const Duration interval = seconds(10);
  std::map<long, int> per_100ms;
  for (int i = 0; i < 1000; ++i) {
    WallTime finished = kStart + milliseconds(i);
    WallTime due = finished + next_poll_delay("bench/m" + std::to_string(i), interval, finished);
    ++per_100ms[std::chrono::duration_cast<milliseconds>(due - kStart).count() / 100];
  }
  int busiest = 0;
  for (const auto& [bucket, count] : per_100ms) busiest = std::max(busiest, count);
  // 10 per 100 ms on average; without phases all 1,000 would fall due within one second.
  EXPECT_GE(per_100ms.size(), 95u);
  EXPECT_LE(busiest, 25);
}

}  // namespace
}  // namespace lagpilot::controllers
