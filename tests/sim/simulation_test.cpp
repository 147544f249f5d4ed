#include "sim/simulation.h"

#include <gtest/gtest.h>

#include <map>

#include "sim/lagpilot_autoscaler.h"

namespace lagpilot::sim {
namespace {

// Sets the replicas given for a second, never polls anything else.
class Scripted final : public Autoscaler {
 public:
  explicit Scripted(std::map<std::int64_t, int> script) : script_(std::move(script)) {}
  std::string name() const override { return "scripted"; }
  std::optional<int> tick(const QueueState& now, int) override {
    const auto it = script_.find(now.time);
    if (it == script_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::int64_t, int> script_;
};

RunOptions objective(double seconds) {
  RunOptions options;
  options.objective_seconds = seconds;
  return options;
}

RunOptions without_series() {
  RunOptions options;
  options.keep_series = false;
  return options;
}

ModelConfig exact() {
  return ModelConfig{.service_rate = 400,
                     .service_noise = 0,
                     .startup_delay = 20,
                     .partitions = 24,
                     .rebalance_pause = 0,
                     .consumer_stalls = {},
                     .seed = 1,
                     .startup_delays = {},
                     .partition_skew = false,
                     .commit_interval = 0,
                     .group_members_visible = true,
                     .startup_profiles = {}};
}

Trace constant(double rate, std::int64_t seconds) {
  return Trace{.name = "constant",
               .description = "constant:rate",
               .rates = std::vector<double>(static_cast<std::size_t>(seconds), rate)};
}

TEST(Simulate, CountsViolationSecondsAgainstTheObjective) {
  // 3,000 msg/s against 5 x 400: lagSeconds at the end of second t is (t + 1) / 3, above 10 s
  // from second 30 on.
  Scripted none(std::map<std::int64_t, int>{});
  const SimulationResult result = simulate(constant(3000, 60), exact(), 5, none, objective(10));
  EXPECT_EQ(result.summary.violation_seconds, 30);
  EXPECT_DOUBLE_EQ(result.summary.max_lag, 60000);
  EXPECT_NEAR(result.summary.max_lag_seconds, 20, 1e-9);
  EXPECT_EQ(result.summary.replica_seconds, 5 * 60);
  EXPECT_EQ(result.summary.mean_replicas, 5);
  EXPECT_EQ(result.summary.scaling_actions, 0);
  EXPECT_DOUBLE_EQ(result.summary.arrived, 180000);
  EXPECT_DOUBLE_EQ(result.summary.processed, 120000);
  EXPECT_DOUBLE_EQ(result.summary.final_lag, 60000);
  ASSERT_EQ(result.series.size(), 60u);
  EXPECT_EQ(result.series[59].time, 59);
  EXPECT_EQ(result.series[59].arrivals, 3000);
  EXPECT_EQ(result.series[59].processed, 2000);
}

TEST(Simulate, CountsScalingActionsAndReplicaSeconds) {
  Scripted script({{10, 8}, {20, 8}, {30, 3}, {40, 0}});
  const SimulationResult result =
      simulate(constant(1000, 50), exact(), 5, script, without_series());
  // 5 for 10 s, 8 for 20 s, 3 for 10 s, 0 for 10 s.
  EXPECT_EQ(result.summary.replica_seconds, 5 * 10 + 8 * 20 + 3 * 10);
  EXPECT_EQ(result.summary.scaling_actions, 3);
  EXPECT_EQ(result.summary.scale_ups, 1);
  EXPECT_EQ(result.summary.scale_downs, 2);
  EXPECT_EQ(result.summary.peak_replicas, 8);
  EXPECT_TRUE(result.series.empty());
}

TEST(Simulate, SeriesShowsDesiredAndReadyReplicas) {
  Scripted script(std::map<std::int64_t, int>{{0, 7}});
  const SimulationResult result = simulate(constant(1000, 30), exact(), 3, script, RunOptions{});
  EXPECT_EQ(result.series[0].replicas_desired, 7);
  EXPECT_EQ(result.series[0].replicas_current, 3);
  EXPECT_EQ(result.series[19].replicas_current, 3);
  EXPECT_EQ(result.series[20].replicas_current, 7);
}

TEST(Simulate, ReportsProgressToTheEnd) {
  Scripted none(std::map<std::int64_t, int>{});
  std::vector<std::int64_t> seen;
  RunOptions options;
  options.progress = [&](std::int64_t done, std::int64_t total) {
    EXPECT_EQ(total, 1000);
    seen.push_back(done);
  };
  simulate(constant(10, 1000), exact(), 1, none, options);
  ASSERT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.front(), 10);
  EXPECT_EQ(seen.back(), 1000);
}

TEST(Simulate, InitialReplicasCoverTheFirstSecond) {
  EXPECT_EQ(default_initial_replicas(constant(2000, 1), exact(), 1, 24), 5);
  EXPECT_EQ(default_initial_replicas(constant(2001, 1), exact(), 1, 24), 6);
  EXPECT_EQ(default_initial_replicas(constant(0, 1), exact(), 1, 24), 1);
  EXPECT_EQ(default_initial_replicas(constant(1e6, 1), exact(), 1, 30), 24);  // partitions
  EXPECT_EQ(default_initial_replicas(constant(1e6, 1), exact(), 1, 10), 10);
  EXPECT_EQ(default_initial_replicas(constant(0, 1), exact(), 3, 10), 3);
}

TEST(Simulate, IsDeterministicForASeed) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  auto trace = generate_trace("diurnal", 86400, 9);
  ASSERT_TRUE(trace);
  ModelConfig model;
  model.seed = 9;
  model.rebalance_pause = 5;
  auto run = [&] {
    LagpilotAutoscaler autoscaler(spec, 10);
    return simulate(*trace, model, 2, autoscaler, without_series()).summary;
  };
  const Summary a = run();
  const Summary b = run();
  EXPECT_EQ(a.violation_seconds, b.violation_seconds);
  EXPECT_EQ(a.replica_seconds, b.replica_seconds);
  EXPECT_EQ(a.max_lag, b.max_lag);
  EXPECT_EQ(a.scaling_actions, b.scaling_actions);
  EXPECT_EQ(a.duration, 86400);
}

}  // namespace
}  // namespace lagpilot::sim
