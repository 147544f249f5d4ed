#include "scaler/state.h"

#include <gtest/gtest.h>

#include <type_traits>

#include "scaler/engine.h"
#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::at;
using testing::lag_observation;

static_assert(std::is_copy_constructible_v<ScalerState> && std::is_copy_assignable_v<ScalerState>);

TEST(ScalerState, RecordScaleKeepsEventsAndTheLatestTime) {
  ScalerState state;
  state.record_scale(at(10), 2, 6);
  state.record_scale(at(5), 1, 2);   // replayed out of order
  state.record_scale(at(20), 6, 6);  // not a change
  ASSERT_EQ(state.scale_events().size(), 2u);
  EXPECT_EQ(state.last_scale_time(), at(10));
}

TEST(ScalerState, CountsConsecutiveFailuresUntilAUsablePoll) {
  ScalerState state;
  state.record_poll(false);
  state.record_poll(false);
  EXPECT_EQ(state.consecutive_failures(), 2);
  state.record_poll(true);
  EXPECT_EQ(state.consecutive_failures(), 0);
}

TEST(ScalerState, ForgetsWhatNoWindowOrPeriodCanSee) {
  const ScalingSpec spec;  // longest window 300 s, longest period 60 s
  ScalerState state;
  state.record_recommendation(at(0), 4);
  state.record_recommendation(at(200), 5);
  state.record_scale(at(0), 2, 4);
  state.record_scale(at(250), 4, 5);
  state.forget_expired(at(300), spec);
  ASSERT_EQ(state.recommendations().size(), 1u);
  EXPECT_EQ(state.recommendations()[0].replicas, 5);
  ASSERT_EQ(state.scale_events().size(), 1u);
  EXPECT_EQ(state.scale_events()[0].to, 5);
  EXPECT_EQ(state.last_scale_time(), at(250));
}

TEST(ScalerState, NeverHoldsMoreThanTheMaximumEntries) {
  ScalerState state;
  for (int i = 0; i < 1500; ++i) state.record_recommendation(at(i), i);
  EXPECT_EQ(state.recommendations().size(), ScalerState::kMaxEntries);
  EXPECT_EQ(state.recommendations().front().replicas, 500);  // the oldest went first
}

TEST(ScalerState, StaysSmallOverADayOfDecisions) {
  const ScalingSpec spec;
  ScalerState state;
  int replicas = 1;
  for (int poll = 0; poll < 8640; ++poll) {  // every 10 s for 24 h
    const Decision decision =
        decide(spec, lag_observation(at(poll * 10), (poll % 60) * 1'000), replicas, state, false);
    if (decision.is_change()) {
      state.record_scale(decision.time, replicas, decision.desired_replicas);
      replicas = decision.desired_replicas;
    }
  }
  EXPECT_LE(state.recommendations().size(), 30u);  // 300 s window / 10 s polls
  EXPECT_LE(state.scale_events().size(), 6u);      // 60 s period / 10 s polls
}

TEST(ScalerState, CopiesAreIndependent) {
  ScalerState original;
  original.record_recommendation(at(0), 3);
  ScalerState copy = original;
  copy.record_recommendation(at(1), 4);
  copy.throughput().add_sample(100, 0.3);
  EXPECT_EQ(original.recommendations().size(), 1u);
  EXPECT_FALSE(original.throughput().per_replica_rate().has_value());
}

// --- Start-up delay learning -------------------------------------------------------------------

TEST(StartupDelay, IsTheMidpointOfThePollGapInWhichTheMembersJoined) {
  ScalerState state;
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 5);
  state.startup_delay().polled(at(10), 2);
  state.startup_delay().polled(at(20), 4);  // not all of them yet
  state.startup_delay().polled(at(30), 5);  // joined in (20, 30]
  EXPECT_DOUBLE_EQ(*state.startup_delay().seconds(), 25);
  EXPECT_EQ(state.startup_delay().samples(), 1);
  state.startup_delay().polled(at(40), 5);  // nothing pending
  EXPECT_EQ(state.startup_delay().samples(), 1);
}

TEST(StartupDelay, IsSmoothed) {
  ScalerState state;
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 5);
  state.startup_delay().polled(at(10), 2);
  state.startup_delay().polled(at(20), 5);  // 15
  state.record_scale(at(100), 5, 8);
  state.startup_delay().polled(at(110), 5);
  state.startup_delay().polled(at(120), 5);
  state.startup_delay().polled(at(130), 8);                // 25
  EXPECT_DOUBLE_EQ(*state.startup_delay().seconds(), 20);  // 15 + 0.5 x (25 - 15)
}

TEST(StartupDelay, AScaleUpDuringAMeasurementKeepsTheOlderOne) {
  ScalerState state;
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 4);
  state.startup_delay().polled(at(10), 2);
  state.record_scale(at(10), 4, 6);
  state.startup_delay().polled(at(20), 4);  // the first pods, 10..20 s after their scale-up
  EXPECT_DOUBLE_EQ(*state.startup_delay().seconds(), 15);
}

TEST(StartupDelay, AScaleDownOrUnknownMembersCancel) {
  ScalerState state;
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 6);
  state.record_scale(at(5), 6, 3);
  state.startup_delay().polled(at(10), 3);
  EXPECT_FALSE(state.startup_delay().seconds().has_value());

  state.record_scale(at(20), 3, 6);
  state.startup_delay().polled(at(30), std::nullopt);
  state.startup_delay().polled(at(40), 6);
  EXPECT_FALSE(state.startup_delay().seconds().has_value());
}

TEST(StartupDelay, ReplayedScaleEventsTeachNothing) {
  ScalerState state;
  state.record_scale(at(0), 2, 6);  // from status.scalingHistory after a restart
  state.startup_delay().polled(at(40), 6);
  EXPECT_FALSE(state.startup_delay().seconds().has_value());
}

TEST(StartupDelay, GivesUpAfterTheBound) {
  ScalerState state;
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 6);
  state.startup_delay().polled(at(300), 2);
  state.startup_delay().polled(at(700), 6);  // > 600 s: no sample
  EXPECT_FALSE(state.startup_delay().seconds().has_value());
}

TEST(ArrivalReadings, KeepsTheLatestTwelve) {
  ScalerState state;
  for (int poll = 0; poll < 20; ++poll) state.record_arrivals(at(poll * 10), poll);
  ASSERT_EQ(state.arrivals().size(), ScalerState::kArrivalReadings);
  EXPECT_DOUBLE_EQ(state.arrivals().front().rate, 8);
  EXPECT_DOUBLE_EQ(state.arrivals().back().rate, 19);
}

}  // namespace
}  // namespace lagpilot::scaler
