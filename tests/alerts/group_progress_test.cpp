#include "alerts/group_progress.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using testing::at;

GroupProgressInput offsets(int t, std::optional<double> committed, std::optional<double> lag) {
  GroupProgressInput input;
  input.time = at(t);
  input.committed_offset_total = committed;
  input.consumer_lag = lag;
  input.consumers = 3;
  input.replicas = 3;
  return input;
}

struct Poll {
  int t;
  std::optional<double> committed;
  std::optional<double> lag;
  bool stalled;
  bool rewinding;
};

void run(GroupProgressTracker& tracker, const std::vector<Poll>& polls) {
  for (const auto& poll : polls) {
    const GroupProgress& progress = tracker.observe(offsets(poll.t, poll.committed, poll.lag));
    EXPECT_EQ(progress.stalled, poll.stalled) << "t=" << poll.t;
    EXPECT_EQ(progress.rewinding, poll.rewinding) << "t=" << poll.t;
    EXPECT_EQ(progress.hold_scale_up(), poll.stalled || poll.rewinding) << "t=" << poll.t;
  }
}

// Defaults: stalled after 180 s and 3 polls without progress; rewinding for 180 s.
TEST(GroupProgressTracker, StallsWhenOffsetsDoNotMoveWithLagAndRecoversOnProgress) {
  GroupProgressTracker tracker;
  run(tracker, {
                   {0, 1000, 50, false, false},
                   {60, 1000, 80, false, false},   // no progress since 0: 1 poll, 60 s
                   {120, 1000, 90, false, false},  // 2 polls, 120 s
                   {180, 1000, 95, true, false},   // 3 polls, 180 s
                   {240, 1000, 99, true, false},
                   {300, 1010, 90, false, false},  // moved
               });
}

TEST(GroupProgressTracker, StalledSinceIsTheLastPollThatSawTheOffset) {
  GroupProgressTracker tracker;
  for (int t = 0; t <= 180; t += 60) (void)tracker.observe(offsets(t, 1000, 50));
  ASSERT_TRUE(tracker.current().stalled);
  EXPECT_EQ(tracker.current().stalled_since, at(0));
  EXPECT_EQ(tracker.current().describe(),
            "consumer group stalled: committed offsets not moving while lag > 0 since "
            "2023-11-15T00:00:00Z");
}

TEST(GroupProgressTracker, NeedsBothTheDurationAndThePollCount) {
  GroupProgressOptions options;
  options.stall_after = std::chrono::seconds(30);
  options.stall_min_polls = 3;
  GroupProgressTracker fast(options);
  run(fast, {
                {0, 1000, 10, false, false},
                {600, 1000, 10, false, false},  // 600 s but 1 poll
                {1200, 1000, 10, false, false},
                {1800, 1000, 10, true, false},
            });
}

TEST(GroupProgressTracker, NoLagOrAnEmptyGroupIsNotStalled) {
  GroupProgressTracker tracker;
  run(tracker, {
                   {0, 1000, 0, false, false},
                   {60, 1000, 0, false, false},
                   {120, 1000, 0, false, false},
                   {180, 1000, 0, false, false},
                   {240, 1000, 0, false, false},
               });
  GroupProgressTracker empty_group;
  for (int t = 0; t <= 600; t += 60) {
    GroupProgressInput input = offsets(t, 1000, 500);
    input.consumers = 0;  // nobody consumes: needs replicas, not a stall
    EXPECT_FALSE(empty_group.observe(input).stalled);
  }
  GroupProgressTracker scaled_to_zero;
  for (int t = 0; t <= 600; t += 60) {
    GroupProgressInput input = offsets(t, 1000, 500);
    input.replicas = 0;
    EXPECT_FALSE(scaled_to_zero.observe(input).stalled);
  }
}

TEST(GroupProgressTracker, UnknownDataHoldsTheVerdict) {
  GroupProgressTracker tracker;
  run(tracker, {
                   {0, 1000, 50, false, false},
                   {60, 1000, 50, false, false},
                   {120, 1000, 50, false, false},
                   {180, 1000, 50, true, false},
                   {240, std::nullopt, 50, true, false},    // offsets unknown: hold
                   {300, 1000, std::nullopt, true, false},  // lag unknown: hold
                   {360, 1000, 50, true, false},
               });
}

TEST(GroupProgressTracker, UsesEgressRateWhenOffsetsAreUnknown) {
  GroupProgressTracker tracker;
  for (int t = 0; t <= 120; t += 60) {
    GroupProgressInput input = offsets(t, std::nullopt, 400);
    input.egress_rate = 0;
    EXPECT_FALSE(tracker.observe(input).stalled) << t;
  }
  GroupProgressInput input = offsets(180, std::nullopt, 400);
  input.egress_rate = 0;
  EXPECT_TRUE(tracker.observe(input).stalled);  // no progress since 0 (4 polls, 180 s)
  input = offsets(240, std::nullopt, 400);
  input.egress_rate = 12.5;
  EXPECT_FALSE(tracker.observe(input).stalled);
}

TEST(GroupProgressTracker, RewindIsReportedForTheHoldAfterTheLastBackwardsMove) {
  GroupProgressTracker tracker;
  run(tracker, {
                   {0, 5000, 10, false, false},
                   {60, 1000, 4010, false, true},  // back by 4000
                   {120, 1200, 3900, false, true},
                   {239, 1400, 3800, false, true},   // 179 s
                   {240, 1600, 3700, false, false},  // 180 s
                   {300, 1500, 3800, false, true},   // again
               });
  EXPECT_EQ(tracker.current().last_rewind_messages, 100);
  EXPECT_EQ(tracker.current().describe(),
            "consumer group rewinding: committed offsets moved back by 100 at "
            "2023-11-15T00:05:00Z");
}

TEST(GroupProgressTracker, LagGrowthFromRatesOrFromTheLagItself) {
  GroupProgressTracker tracker;
  GroupProgressInput input = offsets(0, 100, 500);
  input.ingress_rate = 300;
  input.egress_rate = 250;
  EXPECT_EQ(tracker.observe(input).lag_growing, true);
  input = offsets(10, 200, 500);
  input.ingress_rate = 200;
  input.egress_rate = 250;
  EXPECT_EQ(tracker.observe(input).lag_growing, false);
  input = offsets(20, 300, 650);  // no rates: compare with the previous lag
  EXPECT_EQ(tracker.observe(input).lag_growing, true);
  input = offsets(30, 400, 600);
  EXPECT_EQ(tracker.observe(input).lag_growing, false);
  input = offsets(40, 500, std::nullopt);
  EXPECT_EQ(tracker.observe(input).lag_growing, std::nullopt);
}

}  // namespace
}  // namespace lagpilot::alerts
