#include "sim/oracle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sim/scenario.h"
#include "sim/simulation.h"

namespace lagpilot::sim {
namespace {

using ::testing::HasSubstr;

// Service 400 msg/s per replica, start-up 20 s, objective 30 s, 24 consumers; per second (exact).
OracleProblem problem(std::vector<double> arrivals, int initial_replicas) {
  return OracleProblem{.arrivals = std::move(arrivals),
                       .service_rate = 400,
                       .startup_delay = 20,
                       .max_consumers = 24,
                       .max_replicas = 24,
                       .objective_seconds = 30,
                       .initial_replicas = initial_replicas,
                       .consumer_stalls = {},
                       .block_seconds = 1};
}

std::vector<double> constant(double rate, int seconds) {
  return std::vector<double>(static_cast<std::size_t>(seconds), rate);
}

// `base` everywhere, `peak` during [at, at + length).
std::vector<double> with_peak(double base, double peak, int at, int length, int seconds) {
  std::vector<double> rates = constant(base, seconds);
  std::fill(rates.begin() + at, rates.begin() + at + length, peak);
  return rates;
}

TEST(Oracle, ConstantRateCostsTheWorkExceptTheLastObjective) {
  // 2,000 msg/s = 5 replicas; the last 30 s of arrivals may still be queued at the end.
  const OracleBound bound = oracle_lower_bound(problem(constant(2000, 3600), 5));
  ASSERT_TRUE(bound.feasible) << bound.why_infeasible;
  EXPECT_NEAR(bound.replica_seconds, 5.0 * (3600 - 30), 0.05);
  EXPECT_NEAR(bound.work_seconds, 5.0 * (3600 - 30), 0.01);
  EXPECT_NEAR(bound.startup_seconds, 0, 0.01);
  EXPECT_EQ(bound.block_seconds, 1);
}

TEST(Oracle, MinReplicasIsAFloorUnderTheWork) {
  // 100 msg/s is a quarter of one replica's work; minReplicas 1 keeps a whole one all along.
  OracleProblem low = problem(constant(100, 3600), 1);
  EXPECT_NEAR(oracle_lower_bound(low).replica_seconds, 0.25 * (3600 - 30), 0.05);
  low.min_replicas = 1;
  EXPECT_NEAR(oracle_lower_bound(low).replica_seconds, 3600, 0.05);
  // Above the floor it changes nothing.
  OracleProblem busy = problem(constant(2000, 3600), 5);
  busy.min_replicas = 1;
  EXPECT_NEAR(oracle_lower_bound(busy).replica_seconds, 5.0 * (3600 - 30), 0.05);
}

TEST(Oracle, AStepPaysTheStartUpOfWhatTheObjectiveCannotQueue) {
  // 2,000 -> 6,000 msg/s for 600 s at t = 1,200, then 2,000 again. Over [1200, 1800 + 30) the
  // consumers must serve the step's 3.6 M messages: a mean of 15 x 600 / 630 replicas, so the
  // level rises by 10 x 600 / 630 - 5 x 30 / 630 = 9.29 replicas, each created 20 s before it
  // consumes. Everything else is the work: (2,000 x 3,570 + 4,000 x 600) / 400.
  const OracleBound bound = oracle_lower_bound(problem(with_peak(2000, 6000, 1200, 600, 3600), 5));
  ASSERT_TRUE(bound.feasible) << bound.why_infeasible;
  const double work = (2000.0 * 3570 + 4000.0 * 600) / 400;
  const double rise = 15.0 * 600 / 630 - 5;
  EXPECT_NEAR(bound.work_seconds, work, 0.01);
  EXPECT_NEAR(bound.consuming_seconds, work, 0.05);
  EXPECT_NEAR(bound.startup_seconds, 20 * rise, 0.05);
  EXPECT_NEAR(bound.replica_seconds, work + 20 * rise, 0.1);
}

TEST(Oracle, ASpikeShorterThanTheStartUpIsSpreadOverTheObjective) {
  // 20,000 msg/s for 10 s (< 20 s start-up) on 2,000: its 200,000 messages are due within 40 s
  // of its start, a mean of 12.5 replicas there: 7.5 more, created 20 s before the spike.
  const OracleBound bound = oracle_lower_bound(problem(with_peak(2000, 20000, 600, 10, 1200), 5));
  ASSERT_TRUE(bound.feasible) << bound.why_infeasible;
  const double work = 5.0 * (1200 - 30) + 18000.0 * 10 / 400;
  EXPECT_NEAR(bound.consuming_seconds, work, 0.05);
  EXPECT_NEAR(bound.startup_seconds, 20 * 7.5, 0.05);
  EXPECT_NEAR(bound.replica_seconds, work + 150, 0.1);
}

TEST(Oracle, BlocksStayBelowThePerSecondBound) {
  OracleProblem exact = problem(with_peak(2000, 6000, 1200, 600, 3600), 5);
  const OracleBound per_second = oracle_lower_bound(exact);
  exact.block_seconds = 7;
  const OracleBound blocked = oracle_lower_bound(exact);
  ASSERT_TRUE(per_second.feasible && blocked.feasible);
  EXPECT_EQ(blocked.block_seconds, 7);
  EXPECT_LE(blocked.replica_seconds, per_second.replica_seconds + 1e-6);
  EXPECT_GT(blocked.replica_seconds, 0.97 * per_second.replica_seconds);
}

TEST(Oracle, AutomaticBlocksKeepLongTracesFast) {
  const OracleBound day =
      oracle_lower_bound(OracleProblem{.arrivals = with_peak(2000, 6000, 40000, 3600, 86400),
                                       .consumer_stalls = {},
                                       .block_seconds = 0});
  ASSERT_TRUE(day.feasible) << day.why_infeasible;
  EXPECT_EQ(day.block_seconds, 7);  // a quarter of the 30 s objective
  EXPECT_GT(day.replica_seconds, 0.99 * day.work_seconds);
}

TEST(Oracle, MoreThanEveryConsumerCanServeIsInfeasible) {
  // 12,000 msg/s for 5 minutes: 24 x 400 = 9,600 msg/s falls 2,400 msg/s behind.
  const OracleBound bound = oracle_lower_bound(problem(with_peak(2000, 12000, 1800, 300, 3600), 5));
  EXPECT_FALSE(bound.feasible);
  EXPECT_THAT(bound.why_infeasible, HasSubstr("arrivals reach 12,000 msg/s at 30m"));
  EXPECT_THAT(bound.why_infeasible, HasSubstr("24 consumers x 400 msg/s = 9,600 msg/s"));
  EXPECT_THAT(bound.why_infeasible, HasSubstr("30 s objective"));
  // A short burst above the limit is fine: the objective queues it.
  EXPECT_TRUE(oracle_lower_bound(problem(with_peak(2000, 12000, 1800, 20, 3600), 5)).feasible);
}

TEST(Oracle, TooFewInitialReplicasBeforeTheStartUpIsInfeasible) {
  OracleProblem early = problem(constant(6000, 600), 1);
  early.objective_seconds = 10;
  const OracleBound bound = oracle_lower_bound(early);
  EXPECT_FALSE(bound.feasible);
  EXPECT_THAT(bound.why_infeasible, HasSubstr("the 1 initial replica(s) x 400 msg/s"));
  early.objective_seconds = 30;  // 20 s at 400 msg/s leave 18.7 s of lag: enough
  EXPECT_TRUE(oracle_lower_bound(early).feasible);
}

TEST(Oracle, AStallWithinTheObjectiveIsQueuedLongerIsInfeasible) {
  OracleProblem stalled = problem(constant(2000, 1200), 5);
  const double free_run = oracle_lower_bound(stalled).replica_seconds;
  // 20 s without consumption: the backlog stays 20 s old, within the objective; what it costs is
  // the pods waiting through the stall (or re-created after it): about 5 x 20 s.
  stalled.consumer_stalls = {{.start = 600, .length = 20}};
  const OracleBound bound = oracle_lower_bound(stalled);
  ASSERT_TRUE(bound.feasible) << bound.why_infeasible;
  EXPECT_GT(bound.replica_seconds, free_run + 50);
  EXPECT_LE(bound.replica_seconds, free_run + 5 * 20 + 0.05);
  // 40 s: messages wait longer than 30 s whatever runs.
  stalled.consumer_stalls = {{.start = 600, .length = 40}};
  const OracleBound too_long = oracle_lower_bound(stalled);
  EXPECT_FALSE(too_long.feasible);
  EXPECT_THAT(too_long.why_infeasible, HasSubstr("consumer stalls included"));
}

// Runs the oracle's own optimum in the real model: at each second, the most consumers it uses
// over the next start-up delay (so pods exist when they are needed), 5 % more for the service
// noise, rounded up to whole replicas.
class OracleFollower : public Autoscaler {
 public:
  OracleFollower(const std::vector<double>& consumers, std::int64_t startup_delay)
      : consumers_(consumers), startup_delay_(startup_delay) {}
  std::string name() const override { return "oracle-follower"; }
  std::optional<int> tick(const QueueState& now, int) override {
    const auto from = static_cast<std::size_t>(now.time);
    const auto to =
        std::min(consumers_.size(), from + static_cast<std::size_t>(startup_delay_) + 1);
    double most = 0;
    for (std::size_t t = from; t < to; ++t) most = std::max(most, consumers_[t]);
    return static_cast<int>(std::ceil(1.05 * most - 1e-6));
  }

 private:
  const std::vector<double>& consumers_;
  std::int64_t startup_delay_;
};

TEST(Oracle, NeverAboveWhatARealScheduleAchieved) {
  auto spec =
      load_simulation_spec(std::string(LAGPILOT_SOURCE_DIR) + "/bench/scaling/queuemonitor.yaml");
  ASSERT_TRUE(spec) << spec.error().message;
  ModelConfig model;  // 400 msg/s +/- 10 %, start-up 20 s, 24 partitions, no rebalance pause
  const double objective = 30;
  int compared = 0;
  for (const char* description :
       {"step:base=2000,peak=6000,at=20m,until=1h20m", "spike:base=2000,peak=9000,at=30m,length=2m",
        "sawtooth:base=1000,peak=7000,period=15m", "ramp:base=1000,peak=8000",
        "bursts:base=1500,peak=9000,gap=10m,length=90s"}) {
    auto trace = generate_trace(description, 2 * 3600, 1);
    ASSERT_TRUE(trace) << trace.error().message;
    Scenario scenario{.spec = *spec,
                      .trace = *trace,
                      .model = model,
                      .initial_replicas = std::nullopt,
                      .objective_seconds = objective};
    const OracleBound bound = oracle_lower_bound(oracle_problem_for(
        *trace, model, spec->monitor.scaling.max_replicas, objective, initial_replicas(scenario)));
    ASSERT_TRUE(bound.feasible) << description << ": " << bound.why_infeasible;

    ASSERT_EQ(bound.consumers.size(), trace->rates.size());
    OracleFollower follower(bound.consumers, model.startup_delay);
    const SimulationResult followed =
        simulate(*trace, model, initial_replicas(scenario), follower,
                 RunOptions{.objective_seconds = objective, .keep_series = false, .progress = {}});
    ASSERT_EQ(followed.summary.violation_seconds, 0) << description;
    EXPECT_LE(bound.replica_seconds, followed.summary.replica_seconds) << description;
    // Tight: the best whole-replica schedule with noise lies between the two.
    EXPECT_LT(followed.summary.replica_seconds, 1.2 * bound.replica_seconds) << description;

    for (const char* policy : {"lagpilot", "hpa-keda"}) {
      auto run = run_scenario(scenario, policy, false);
      ASSERT_TRUE(run) << run.error().message;
      if (run->summary.violation_seconds > 0) continue;
      EXPECT_LE(bound.replica_seconds, run->summary.replica_seconds)
          << description << " " << policy;
      ++compared;
    }
  }
  EXPECT_GE(compared, 2);  // runs without violations to compare against
}

}  // namespace
}  // namespace lagpilot::sim
