#include "sim/baselines/seed_rule.h"

#include <gtest/gtest.h>

#include "sim/simulation.h"

namespace lagpilot::sim::baselines {
namespace {

TEST(SeedRule, DoublesAndHalvesOnDepthAndLatency) {
  const SeedRuleConfig config;
  struct Case {
    std::int64_t depth;
    double latency;
    int current;
    int expected;
  };
  for (const Case& c : {
           Case{1001, 0.51, 4, 8},   // both above: double
           Case{1000, 1.0, 4, 4},    // depth not above 1,000
           Case{1001, 0.5, 4, 4},    // latency not above 500 ms
           Case{5000, 2.0, 30, 50},  // up to 50
           Case{5000, 2.0, 50, 50},
           Case{5000, 2.0, 0, 1},  // from zero: 1
           Case{99, 0.09, 5, 3},   // both below: halve, rounded up
           Case{99, 0.09, 1, 1},   // down to 1
           Case{99, 0.1, 5, 5},    // latency not below 100 ms
           Case{100, 0.01, 5, 5},  // depth not below 100
           Case{500, 0.3, 7, 7},   // in between: hold
       }) {
    EXPECT_EQ(seed_rule_replicas(config, c.depth, c.latency, c.current), c.expected)
        << c.depth << " msgs, " << c.latency << " s, " << c.current << " replicas";
  }
}

// A small trace by hand: 1 replica of 100 msg/s under 1,000 msg/s, polled every 10 s.
TEST(SeedRule, SmallTraceByHand) {
  ModelConfig model{.service_rate = 100,
                    .service_noise = 0,
                    .startup_delay = 0,
                    .partitions = 24,
                    .rebalance_pause = 0,
                    .consumer_stalls = {},
                    .seed = 1,
                    .startup_delays = {},
                    .partition_skew = false,
                    .commit_interval = 0,
                    .group_members_visible = true,
                    .startup_profiles = {}};
  SeedRuleAutoscaler autoscaler(SeedRuleConfig{});
  Trace trace{
      .name = "constant", .description = "constant", .rates = std::vector<double>(40, 1000)};
  const SimulationResult result = simulate(trace, model, 1, autoscaler, RunOptions{});
  // t=0: no lag, latency 10 ms: halve 1 -> 1. t=10: lag 9,000, lagSeconds 9: 1 -> 2.
  // t=20: lag 9,000 + 800 * 10 = 17,000: 2 -> 4. t=30: 17,000 + 600 * 10: 4 -> 8.
  for (const SecondRecord& second : result.series) {
    const int expected = second.time < 10 ? 1 : second.time < 20 ? 2 : second.time < 30 ? 4 : 8;
    ASSERT_EQ(second.replicas_desired, expected) << "t=" << second.time;
  }
  EXPECT_EQ(result.summary.scaling_actions, 3);
  EXPECT_DOUBLE_EQ(result.series[9].lag, 9000);
  EXPECT_DOUBLE_EQ(result.series[19].lag, 17000);

  // Then it drains and halves at every poll once the lag is gone.
  Trace calm{.name = "constant", .description = "constant", .rates = std::vector<double>(40, 50)};
  SeedRuleAutoscaler again(SeedRuleConfig{});
  const SimulationResult down = simulate(calm, model, 8, again, RunOptions{});
  EXPECT_EQ(down.series[0].replicas_desired, 4);
  EXPECT_EQ(down.series[10].replicas_desired, 2);
  EXPECT_EQ(down.series[20].replicas_desired, 1);
  EXPECT_EQ(down.series[39].replicas_desired, 1);
}

}  // namespace
}  // namespace lagpilot::sim::baselines
