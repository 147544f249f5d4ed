// One step: the simulator runs the controller's poll step (controllers/poll_step.h). The same
// polls, fed through the controller's path (a QueueSnapshot, poll_input, PollStep::run, scaled()
// when it says scale), give the same decisions field by field.
#include <gtest/gtest.h>

#include "controllers/poll_step.h"
#include "scaler/engine.h"
#include "sim/lagpilot_autoscaler.h"
#include "sim/simulation.h"
#include "sim/traces.h"

namespace lagpilot::sim {
namespace {

void expect_same(const scaler::Decision& a, const scaler::Decision& b, const std::string& where) {
  EXPECT_EQ(a.time, b.time) << where;
  EXPECT_EQ(a.current_replicas, b.current_replicas) << where;
  EXPECT_EQ(a.desired_replicas, b.desired_replicas) << where;
  EXPECT_EQ(a.replicas_if_unpaused, b.replicas_if_unpaused) << where;
  EXPECT_EQ(a.recommended_replicas, b.recommended_replicas) << where;
  EXPECT_EQ(a.decided_by, b.decided_by) << where;
  EXPECT_EQ(a.guard_rail, b.guard_rail) << where;
  EXPECT_EQ(a.guard_rail_detail, b.guard_rail_detail) << where;
  EXPECT_EQ(a.reason, b.reason) << where;
}

// What the controller's source would have reported for `observation`.
Result<QueueSnapshot> snapshot_of(const scaler::Observation& observation,
                                  std::optional<double> progress_position) {
  if (!observation.ok) return Error{"SourceUnreachable", observation.error};
  QueueSnapshot snapshot;
  snapshot.time = observation.time;
  snapshot.consumer_lag = observation.consumer_lag.value_or(0);
  snapshot.queue_depth = observation.queue_depth.value_or(0);
  snapshot.lag_seconds = observation.lag_seconds;
  if (observation.max_useful_consumers > 0) {
    snapshot.partitions = observation.max_useful_consumers;
    snapshot.max_useful_consumers = observation.max_useful_consumers;
  }
  snapshot.progress_position = progress_position;
  snapshot.consumers = observation.consumers;
  snapshot.ingress_rate = observation.ingress_rate;
  snapshot.egress_rate = observation.egress_rate;
  return snapshot;
}

// The controller's step (QueueMonitorController::run_poll_step and act, without the I/O) on a list
// of polls; the target is scaled whenever the step says so.
std::vector<scaler::Decision> controller_decisions(
    const scaler::ScalingSpec& spec, const std::vector<scaler::Observation>& polls, int replicas,
    const std::vector<std::optional<double>>& progress = {}) {
  controllers::PollStep step;
  std::vector<scaler::Decision> decisions;
  for (std::size_t i = 0; i < polls.size(); ++i) {
    const auto position = i < progress.size() ? progress[i] : std::nullopt;
    controllers::PollOutcome outcome =
        step.run(spec, controllers::poll_input(snapshot_of(polls[i], position), std::nullopt,
                                               std::nullopt, polls[i].time, replicas, false));
    if (outcome.action == controllers::PollAction::kScale) {
      step.scaled(outcome.decision);
      replicas = outcome.decision.desired_replicas;
    }
    decisions.push_back(outcome.decision);
  }
  return decisions;
}

scaler::Observation poll(int seconds, std::int64_t lag, std::optional<double> ingress,
                         std::optional<double> egress, int consumers) {
  scaler::Observation o;
  o.time = simulated_time(seconds);
  o.consumer_lag = lag;
  o.queue_depth = lag;
  o.lag_seconds = lag / 2000.0;
  o.max_useful_consumers = 24;
  o.consumers = consumers;
  o.ingress_rate = ingress;
  o.egress_rate = egress;
  return o;
}

std::vector<scaler::Observation> handmade_polls() {
  std::vector<scaler::Observation> polls = {
      poll(0, 0, std::nullopt, std::nullopt, 4),  // no rates yet: lagPerReplica fallback
      poll(10, 30000, 5000, 1600, 4),             // busy: learns 400 msg/s/replica
      poll(20, 64000, 5000, 1600, 4),
      poll(30, 80000, 5000, 3400, 4),
      poll(40, 60000, 5000, 7000, 13),
  };
  scaler::Observation failed;
  failed.time = simulated_time(50);
  failed.ok = false;
  failed.error = "broker unreachable";
  polls.push_back(failed);
  for (int t = 60; t <= 900; t += 10) polls.push_back(poll(t, 0, 1000, 1000, 13));
  return polls;
}

TEST(EngineEquivalence, SameObservationsSameDecisions) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  const auto polls = handmade_polls();
  const auto direct = controller_decisions(spec, polls, 4);

  LagpilotAutoscaler simulated(spec, 10);
  int replicas = 4;
  for (std::size_t i = 0; i < polls.size(); ++i) {
    const DecisionRecord& record = simulated.decide(polls[i], replicas);
    expect_same(record.decision, direct[i], "poll " + std::to_string(i));
    if (record.applied) replicas = record.decision.desired_replicas;
  }
  // The sequence exercises scaling both ways.
  int ups = 0;
  int downs = 0;
  for (const auto& d : direct) {
    ups += d.desired_replicas > d.current_replicas;
    downs += d.desired_replicas < d.current_replicas;
  }
  EXPECT_GT(ups, 0);
  EXPECT_GT(downs, 0);
}

TEST(EngineEquivalence, DryRunDecidesButNeverScales) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  spec.mode = scaler::Mode::kDryRun;
  const auto polls = handmade_polls();
  const auto direct = controller_decisions(spec, polls, 4);
  LagpilotAutoscaler simulated(spec, 10);
  for (std::size_t i = 0; i < polls.size(); ++i) {
    const DecisionRecord& record = simulated.decide(polls[i], 4);
    expect_same(record.decision, direct[i], "poll " + std::to_string(i));
    EXPECT_FALSE(record.applied);
  }
}

// As the controller does with its alerting's hold: a group whose committed offsets stand still
// while lag grows gets no more replicas once it counts as stalled (180 s and 3 polls), and scaling
// resumes at the first poll where the offsets move.
TEST(EngineEquivalence, AStalledGroupHoldsScaleUpUntilItsOffsetsMove) {
  scaler::ScalingSpec spec;
  spec.policy = scaler::Policy::kLagPerReplica;
  spec.target_lag_per_replica = 1000;
  spec.max_replicas = 50;
  spec.tolerance = 0;
  spec.scale_up = {.stabilization_seconds = 0,
                   .max_pods_per_period = 1000,
                   .max_percent_per_period = 1000,
                   .period_seconds = 15};
  LagpilotAutoscaler simulated(spec, 60);
  int replicas = 1;
  std::vector<scaler::Decision> decisions;
  std::vector<scaler::Observation> polls;
  std::vector<std::optional<double>> positions;
  for (int i = 0; i <= 4; ++i) {
    // Lag grows by 2,000 per minute; the offsets stay at 5,000 until the last poll.
    const double committed = i < 4 ? 5000 : 5600;
    polls.push_back(poll(60 * i, 2000 * (i + 1), 40, 0, replicas));
    positions.push_back(committed);
    const DecisionRecord& record = simulated.decide(polls.back(), replicas, committed);
    decisions.push_back(record.decision);
    if (record.applied) replicas = record.decision.desired_replicas;
  }
  // The controller's path holds at the same poll, with the same words.
  const auto direct = controller_decisions(spec, polls, 1, positions);
  for (std::size_t i = 0; i < polls.size(); ++i)
    expect_same(decisions[i], direct[i], "poll " + std::to_string(i));
  EXPECT_EQ(decisions[0].desired_replicas, 2);
  EXPECT_EQ(decisions[1].desired_replicas, 4);
  EXPECT_EQ(decisions[2].desired_replicas, 6);
  // t=180 s: no progress since t=0 over 3 polls.
  EXPECT_EQ(decisions[3].current_replicas, 6);
  EXPECT_EQ(decisions[3].desired_replicas, 6);
  EXPECT_EQ(decisions[3].recommended_replicas, 8);
  EXPECT_EQ(decisions[3].guard_rail, scaler::GuardRail::kGroupNotProgressing);
  EXPECT_EQ(decisions[3].reason,
            "holding 6 replicas: consumer group stalled: committed offsets not moving while lag > "
            "0 since 2026-01-01T00:00:00Z (policy wants 8)");
  EXPECT_EQ(decisions[4].desired_replicas, 10);
  EXPECT_EQ(decisions[4].guard_rail, scaler::GuardRail::kNone);
}

TEST(EngineEquivalence, ASimulationReplaysThroughTheControllersStep) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  auto trace = generate_trace("bursts", 3 * 3600, 5);
  ASSERT_TRUE(trace);
  ModelConfig model;
  model.rebalance_pause = 5;
  model.seed = 5;
  LagpilotAutoscaler autoscaler(spec, 10);
  const SimulationResult result = simulate(*trace, model, 4, autoscaler, RunOptions{});

  // Every poll of the run, fed through the controller's step, gives the decision the run acted on.
  std::vector<scaler::Observation> polls;
  std::vector<std::optional<double>> positions;
  for (const DecisionRecord& record : autoscaler.log()) {
    polls.push_back(record.observation);
    positions.push_back(record.progress_position);
  }
  ASSERT_EQ(polls.size(), static_cast<std::size_t>(3 * 3600 / 10));
  const auto direct = controller_decisions(spec, polls, 4, positions);
  int applied = 0;
  for (std::size_t i = 0; i < polls.size(); ++i) {
    expect_same(autoscaler.log()[i].decision, direct[i], "poll " + std::to_string(i));
    applied += autoscaler.log()[i].applied;
  }
  // And the run scaled exactly when those decisions said so.
  EXPECT_EQ(result.summary.scaling_actions, applied);
  EXPECT_GT(applied, 5);
  for (const DecisionRecord& record : autoscaler.log()) {
    const auto t =
        std::chrono::duration_cast<std::chrono::seconds>(record.decision.time - simulated_time(0))
            .count();
    ASSERT_EQ(result.series[static_cast<std::size_t>(t)].replicas_desired,
              record.applied ? record.decision.desired_replicas : record.decision.current_replicas)
        << "t=" << t;
  }
}

}  // namespace
}  // namespace lagpilot::sim
