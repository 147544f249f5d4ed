#include "sim/model.h"

#include <gtest/gtest.h>

#include <set>

namespace lagpilot::sim {
namespace {

ModelConfig exact(int partitions = 24) {
  ModelConfig config;
  config.service_rate = 400;
  config.service_noise = 0;
  config.startup_delay = 20;
  config.partitions = partitions;
  config.rebalance_pause = 0;
  return config;
}

void run(QueueModel& model, double rate, int seconds) {
  for (int i = 0; i < seconds; ++i) model.advance(rate);
}

TEST(QueueModel, StartsSteadyWithoutLag) {
  QueueModel model(exact(), 5);
  EXPECT_EQ(model.state().time, 0);
  EXPECT_EQ(model.state().replicas, 5);
  EXPECT_EQ(model.state().consumers, 5);
  EXPECT_EQ(model.state().lag, 0);
  EXPECT_EQ(model.state().lag_seconds, 0);
  EXPECT_DOUBLE_EQ(model.state().latency_seconds, 1.0 / 400);
}

TEST(QueueModel, ConstantRateBelowCapacityNeverBuildsLag) {
  // 5 x 400 = 2,000 msg/s of capacity against 1,500 msg/s.
  QueueModel model(exact(), 5);
  for (int t = 0; t < 3600; ++t) {
    const QueueState& s = model.advance(1500);
    ASSERT_EQ(s.lag, 0) << "second " << t;
    ASSERT_EQ(s.processed, 1500);
    ASSERT_EQ(s.capacity, 2000);
    ASSERT_EQ(s.lag_seconds, 0);
  }
  EXPECT_EQ(model.state().produced, 1500.0 * 3600);
  EXPECT_EQ(model.state().consumed, 1500.0 * 3600);
}

TEST(QueueModel, ConstantRateAboveCapacityGrowsLagLinearly) {
  // 3,000 msg/s against 2,000: lag(t) = 1,000 t. The oldest unconsumed message is number
  // 2,000 t, which arrived at 2,000 t / 3,000 = 2t/3, so lagSeconds(t) = t / 3.
  QueueModel model(exact(), 5);
  for (int t = 1; t <= 600; ++t) {
    const QueueState& s = model.advance(3000);
    ASSERT_DOUBLE_EQ(s.lag, 1000.0 * t);
    ASSERT_NEAR(s.lag_seconds, t / 3.0, 1e-9) << "t=" << t;
    ASSERT_NEAR(s.latency_seconds, t / 3.0 + 1.0 / 400, 1e-9);
  }
}

TEST(QueueModel, BacklogDrainsAtTheSpareRate) {
  // 60 s at 3,000 msg/s against 2,000 leaves 60,000 msgs; at 1,000 msg/s the spare 1,000 msg/s
  // drains them in 60 s. Consumed C(t) = 2,000 t. While C <= 180,000 (t <= 90) the oldest
  // message arrived at C / 3,000 (lagSeconds t / 3, 30 s at t = 90); after, at
  // 60 + (C - 180,000) / 1,000 = 2t - 120 (lagSeconds 120 - t, 0 at t = 120).
  QueueModel model(exact(), 5);
  run(model, 3000, 60);
  ASSERT_DOUBLE_EQ(model.state().lag, 60000);
  for (int t = 61; t <= 130; ++t) {
    const QueueState& s = model.advance(1000);
    const double lag = std::max(0.0, 60000.0 - 1000.0 * (t - 60));
    ASSERT_NEAR(s.lag, lag, 1e-6) << "t=" << t;
    const double lag_seconds = t <= 90 ? t / 3.0 : std::max(0.0, 120.0 - t);
    ASSERT_NEAR(s.lag_seconds, lag_seconds, 1e-9) << "t=" << t;
  }
  EXPECT_EQ(model.state().lag, 0);
}

TEST(QueueModel, BurstOfArrivalsAgesAtOneSecondPerSecondWithoutConsumers) {
  QueueModel model(exact(), 0);
  model.advance(100);
  for (int t = 2; t <= 50; ++t) {
    const QueueState& s = model.advance(0);
    ASSERT_DOUBLE_EQ(s.lag, 100);
    // The first of the 100 messages arrived at t = 0.
    ASSERT_NEAR(s.lag_seconds, t, 1e-9);
  }
}

TEST(QueueModel, NewPodsConsumeAfterTheStartupDelay) {
  QueueModel model(exact(), 1);
  model.set_replicas(3);
  EXPECT_EQ(model.state().replicas, 3);
  EXPECT_EQ(model.state().consumers, 1);
  for (int t = 0; t < 20; ++t) {
    const QueueState& s = model.advance(2000);
    ASSERT_EQ(s.capacity, 400) << "second " << t;
    ASSERT_EQ(s.consumers, 1);
  }
  const QueueState& s = model.advance(2000);  // second 20: the new pods joined
  EXPECT_EQ(s.capacity, 1200);
  EXPECT_EQ(s.consumers, 3);
}

TEST(QueueModel, ScalingDownRemovesStartingPodsFirst) {
  QueueModel model(exact(), 2);
  model.set_replicas(5);  // 3 starting
  run(model, 0, 5);
  model.set_replicas(3);  // removes 2 of the starting pods
  EXPECT_EQ(model.state().replicas, 3);
  EXPECT_EQ(model.state().consumers, 2);
  run(model, 0, 15);
  EXPECT_EQ(model.state().consumers, 2);
  model.advance(0);  // second 20: the remaining new pod joins
  EXPECT_EQ(model.state().consumers, 3);
  model.set_replicas(1);
  EXPECT_EQ(model.state().consumers, 1);
}

TEST(QueueModel, ConsumersBeyondThePartitionCountSitIdle) {
  QueueModel model(exact(/*partitions=*/4), 10);
  const QueueState& s = model.advance(5000);
  EXPECT_EQ(s.capacity, 4 * 400);
  EXPECT_EQ(s.consuming, 4);
  EXPECT_EQ(s.consumers, 10);
}

TEST(QueueModel, RebalanceStallsConsumptionAfterEachMembershipChange) {
  ModelConfig config = exact();
  config.rebalance_pause = 5;
  QueueModel model(config, 4);
  run(model, 1000, 10);
  EXPECT_EQ(model.state().lag, 0);
  model.set_replicas(3);  // a member leaves: 5 s without consumption
  for (int t = 0; t < 5; ++t) {
    const QueueState& s = model.advance(1000);
    ASSERT_TRUE(s.rebalancing);
    ASSERT_EQ(s.processed, 0);
  }
  EXPECT_DOUBLE_EQ(model.state().lag, 5000);
  const QueueState& s = model.advance(1000);
  EXPECT_FALSE(s.rebalancing);
  EXPECT_EQ(s.processed, 1200);
  // Scaling up stalls when the new pods join, not when they are created.
  model.set_replicas(4);
  for (int t = 0; t < 20; ++t) ASSERT_FALSE(model.advance(0).rebalancing);
  EXPECT_TRUE(model.advance(0).rebalancing);
}

TEST(QueueModel, ServiceNoiseAveragesToTheServiceRateAndIsDeterministic) {
  ModelConfig config = exact();
  config.service_noise = 0.1;
  config.seed = 7;
  QueueModel a(config, 10);
  QueueModel b(config, 10);
  config.seed = 8;
  QueueModel c(config, 10);
  double total = 0;
  bool differs = false;
  for (int t = 0; t < 10000; ++t) {
    const double capacity = a.advance(0).capacity;
    ASSERT_EQ(capacity, b.advance(0).capacity);
    differs = differs || capacity != c.advance(0).capacity;
    total += capacity;
  }
  EXPECT_NEAR(total / 10000, 4000, 10);
  EXPECT_TRUE(differs);
}

TEST(QueueModel, AConsumerStallStopsConsumptionButKeepsTheMembers) {
  ModelConfig config = exact();
  config.consumer_stalls = {{.start = 10, .length = 30}};
  QueueModel model(config, 5);
  run(model, 1000, 10);
  ASSERT_EQ(model.state().lag, 0);
  const double consumed = model.state().consumed;
  for (int t = 10; t < 40; ++t) {
    const QueueState& s = model.advance(1000);
    ASSERT_TRUE(s.stuck) << "second " << t;
    ASSERT_EQ(s.consumed, consumed) << "second " << t;
    ASSERT_EQ(s.consumers, 5);
    ASSERT_EQ(s.consuming, 0);
    ASSERT_FALSE(s.rebalancing);
  }
  EXPECT_EQ(model.state().lag, 30 * 1000);
  EXPECT_EQ(model.state().lag_seconds, 30);
  // After the window the group drains at 2,000 msg/s against 1,000 arriving.
  const QueueState& after = model.advance(1000);
  EXPECT_FALSE(after.stuck);
  EXPECT_EQ(after.processed, 2000);
  EXPECT_EQ(after.lag, 29 * 1000);
}

// ---------------------------------------------------------------------------------------------
// What replaying real runs added (sim/replay.h); each off by default.

ModelConfig demo_like() {
  ModelConfig config = exact(/*partitions=*/12);
  config.service_rate = 150;
  return config;
}

TEST(QueueModel, PartitionSkewLeavesTheMembersWithMorePartitionsBehind) {
  // 12 partitions over 5 members (p mod 5): members 0 and 1 own 3, members 2..4 own 2. 720 msg/s
  // is 60 per partition: 180 msg/s for a 3-partition member (30 more than its 150), 120 for the
  // others. One FIFO would keep up (5 x 150 = 750 > 720); with skew, lag grows 2 x 30 = 60 msg/s.
  // The most behind partitions get 50 of their 60 msg/s, so the oldest unprocessed message is
  // number 12 x 50 t = 600 t of the 720 t produced, which arrived at 600 t / 720: lagSeconds t / 6.
  ModelConfig skewed = demo_like();
  skewed.partition_skew = true;
  QueueModel model(skewed, 5);
  QueueModel fifo(demo_like(), 5);
  for (int t = 1; t <= 30; ++t) {
    const QueueState& s = model.advance(720);
    ASSERT_NEAR(s.processed, 660, 1e-9) << "t=" << t;
    ASSERT_NEAR(s.lag, 60.0 * t, 1e-6) << "t=" << t;
    ASSERT_NEAR(s.lag_seconds, t / 6.0, 1e-9) << "t=" << t;
    ASSERT_EQ(s.partitions_with_backlog, 6);  // the 3-partition members'
    ASSERT_EQ(fifo.advance(720).lag, 0);
  }
  EXPECT_FALSE(fifo.state().partitions_with_backlog.has_value());
}

TEST(QueueModel, PartitionSkewGivesAMemberLeftoverCapacityToItsOtherPartitions) {
  // 1,200 msg/s for one second: 100 per partition. A 3-partition member shares its 150 msg/s as
  // 50 each; a 2-partition member 75 each. Processed 5 x 150 = 750; the most behind partitions
  // are at 50 of 100: position 600 of 1,200, which arrived at 0.5 s: lagSeconds 0.5 (one FIFO:
  // 750 of 1,200, 0.375 s).
  ModelConfig skewed = demo_like();
  skewed.partition_skew = true;
  QueueModel model(skewed, 5);
  const QueueState& first = model.advance(1200);
  EXPECT_NEAR(first.processed, 750, 1e-9);
  EXPECT_NEAR(first.lag, 450, 1e-9);
  EXPECT_NEAR(first.lag_seconds, 0.5, 1e-9);
  // Nothing arrives: the 3-partition members have 3 x 50 left (exactly their 150), the others
  // 2 x 25 (less than their 150): everything drains in one second.
  const QueueState& second = model.advance(0);
  EXPECT_NEAR(second.processed, 450, 1e-9);
  EXPECT_NEAR(second.lag, 0, 1e-9);
  EXPECT_EQ(second.lag_seconds, 0);
  EXPECT_EQ(second.partitions_with_backlog, 0);
}

TEST(QueueModel, PartitionSkewWithOneMemberPerPartitionIsOneFifo) {
  ModelConfig skewed = demo_like();
  skewed.partition_skew = true;
  QueueModel model(skewed, 12);
  QueueModel fifo(demo_like(), 12);
  for (double rate : {2000.0, 2500.0, 100.0, 0.0, 1900.0}) {
    const QueueState& a = model.advance(rate);
    const QueueState& b = fifo.advance(rate);
    ASSERT_NEAR(a.lag, b.lag, 1e-6);
    ASSERT_NEAR(a.lag_seconds, b.lag_seconds, 1e-9);
  }
}

TEST(QueueModel, CommitIntervalPollsSeeOffsetsUpToAnIntervalOld) {
  // 100 msg/s, one 150 msg/s member: processed 100 t. Commits every second: a poll sees the
  // position of t - u, u in [0, 1), so lag 100 u and lagSeconds u (the messages are 1/100 s
  // apart); on average 50 and 0.5. Processed is unchanged; committed offsets never move back.
  ModelConfig config = demo_like();
  config.commit_interval = 1;
  QueueModel model(config, 1);
  double lag_sum = 0;
  double previous = 0;
  const int seconds = 4000;
  for (int t = 1; t <= seconds; ++t) {
    const QueueState& s = model.advance(100);
    ASSERT_DOUBLE_EQ(s.processed, 100);
    ASSERT_GE(s.lag, 0);
    ASSERT_LE(s.lag, 100);
    ASSERT_NEAR(s.lag_seconds, s.lag / 100, 0.006) << "t=" << t;  // 0 below half a message
    ASSERT_GE(s.consumed, previous);
    previous = s.consumed;
    lag_sum += s.lag;
  }
  EXPECT_NEAR(lag_sum / seconds, 50, 2);
  // The same seed, the same draws.
  QueueModel again(config, 1);
  run(again, 100, seconds);
  EXPECT_EQ(again.state().lag, model.state().lag);
  // A 4 s commit interval: up to 400 messages, 4 s.
  config.commit_interval = 4;
  QueueModel slow(config, 1);
  for (int t = 1; t <= 100; ++t) {
    const QueueState& s = slow.advance(100);
    ASSERT_LE(s.lag, 400);
    ASSERT_LE(s.lag_seconds, 4 + 1e-9);
  }
}

TEST(QueueModel, FractionalStartupDelayConsumesPartOfTheFirstSecond) {
  // A pod created at 0 with a 2.5 s delay consumes from 2.5 s on: half of second 2 (50 of 100),
  // all of second 3. A poll at 3 sees it as a member (it joined during second 2).
  ModelConfig config = exact();
  config.service_rate = 100;
  config.startup_delays = {2.5};
  QueueModel model(config, 0);
  model.set_replicas(1);
  EXPECT_EQ(model.advance(100).processed, 0);
  EXPECT_EQ(model.advance(100).consumers, 0);
  const QueueState& joining = model.advance(100);
  EXPECT_DOUBLE_EQ(joining.capacity, 50);
  EXPECT_EQ(joining.consumers, 1);
  EXPECT_DOUBLE_EQ(joining.lag, 250);
  EXPECT_DOUBLE_EQ(model.advance(100).capacity, 100);
}

TEST(QueueModel, StartupDelaysAreDrawnPerScaleUpFromTheList) {
  // Every pod of one scale-up shares one delay drawn from the list; the same seed, the same draws.
  ModelConfig config = exact();
  config.startup_delays = {3, 7};
  auto joined_after = [&config](std::uint64_t seed) {
    config.seed = seed;
    QueueModel model(config, 0);
    model.set_replicas(4);
    int seconds = 0;
    while (model.advance(0).consumers == 0) ++seconds;
    EXPECT_EQ(model.state().consumers, 4);  // together
    return seconds;
  };
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const int delay = joined_after(seed);
    ASSERT_TRUE(delay == 3 || delay == 7) << delay;
    EXPECT_EQ(joined_after(seed), delay);
    seen.insert(delay);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(QueueModel, AStartupProfileStaggersThePodsOfOneScaleUp) {
  // One measured scale-up: 2 pods joined after 2 s, 3 after 5 s. Ordering 4 takes the profile's
  // quantiles (k + 0.5) / 4 of 5 delays: indexes 0, 1, 3, 4, i.e. 2, 2, 5, 5 s; ordering 1 takes
  // its median, 5 s. The profile wins over startup_delays.
  ModelConfig config = exact();
  config.startup_delays = {1};
  config.startup_profiles = {{2, 2, 5, 5, 5}};
  QueueModel model(config, 0);
  model.set_replicas(4);
  std::vector<int> members;
  for (int t = 0; t < 6; ++t) members.push_back(model.advance(0).consumers);
  EXPECT_EQ(members, (std::vector<int>{0, 0, 2, 2, 2, 4}));

  QueueModel one(config, 0);
  one.set_replicas(1);
  std::vector<int> single;
  for (int t = 0; t < 6; ++t) single.push_back(one.advance(0).consumers);
  EXPECT_EQ(single, (std::vector<int>{0, 0, 0, 0, 0, 1}));
}

TEST(QueueModel, AFractionalRebalancePauseStopsPartOfTheSecond) {
  // Scaling 2 -> 1 at 0 with a 0.4 s pause: the remaining member consumes 0.6 s of second 0.
  ModelConfig config = exact();
  config.service_rate = 100;
  config.rebalance_pause = 0.4;
  QueueModel down(config, 2);
  down.set_replicas(1);
  const QueueState& first = down.advance(1000);
  EXPECT_DOUBLE_EQ(first.capacity, 60);
  EXPECT_TRUE(first.rebalancing);
  EXPECT_EQ(first.consuming, 1);
  const QueueState& second = down.advance(1000);
  EXPECT_DOUBLE_EQ(second.capacity, 100);
  EXPECT_FALSE(second.rebalancing);

  // A pod joining at 2.5 s with a 0.25 s pause: the group consumes from 2.75 s on, both members
  // a quarter of second 2 (25 + 25), then 200 msg/s.
  config.rebalance_pause = 0.25;
  config.startup_delays = {2.5};
  QueueModel up(config, 1);
  up.set_replicas(2);
  EXPECT_DOUBLE_EQ(up.advance(1000).capacity, 100);
  EXPECT_DOUBLE_EQ(up.advance(1000).capacity, 100);
  EXPECT_DOUBLE_EQ(up.advance(1000).capacity, 50);
  EXPECT_DOUBLE_EQ(up.advance(1000).capacity, 200);
}

TEST(QueueModel, HiddenGroupMembersAreStillModelledButNotVisible) {
  ModelConfig config = demo_like();
  config.group_members_visible = false;
  QueueModel model(config, 3);
  const QueueState& s = model.advance(100);
  EXPECT_EQ(s.consumers, 3);
  EXPECT_FALSE(s.members_visible);
  EXPECT_TRUE(QueueModel(demo_like(), 3).state().members_visible);
}

}  // namespace
}  // namespace lagpilot::sim
