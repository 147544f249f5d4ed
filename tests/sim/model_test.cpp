#include "sim/model.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lagpilot::sim
