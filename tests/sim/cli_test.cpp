#include "sim/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/sim/temp_path.h"

namespace lagpilot::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int code = 0;
  std::string out;
  std::string err;
};

CliRun simulate_cli(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  CliRun run;
  run.code = run_simulate_cli(args, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kSpec = std::string(LAGPILOT_SOURCE_DIR) + "/bench/scaling/queuemonitor.yaml";

TEST(SimulateCli, Help) {
  const CliRun run = simulate_cli({"--help"});
  EXPECT_EQ(run.code, 0);
  EXPECT_THAT(run.out, HasSubstr("Usage: lagpilot simulate"));
  EXPECT_THAT(run.out, HasSubstr("--policy-baseline"));
  EXPECT_THAT(run.out, HasSubstr("sawtooth"));
}

TEST(SimulateCli, RunsTheSpecAndPrintsTheSummary) {
  const CliRun run = simulate_cli({"--spec", kSpec, "--trace", "step", "--duration", "30m",
                                   "--rebalance-pause=5s", "--seed", "3"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("spec       " + kSpec + " (policy drainTime, replicas 1..24"));
  EXPECT_THAT(run.out,
              HasSubstr("trace      step:base=2000,peak=6000,at=6m,until=18m (30m, seed 3)"));
  EXPECT_THAT(run.out, HasSubstr("objective  lagSeconds <= 30 s (from the lagSeconds SLO)"));
  EXPECT_THAT(run.out, HasSubstr("lagpilot (drainTime)"));
  for (const char* line :
       {"violation", "replica-seconds", "max lag ", "max lagSeconds", "scaling actions"}) {
    EXPECT_THAT(run.out, HasSubstr(line));
  }
  EXPECT_THAT(run.out, HasSubstr("oracle     no schedule with zero violations costs less than "));
  EXPECT_THAT(run.out, HasSubstr("x the oracle bound "));
  EXPECT_EQ(run.err, "");
  // Deterministic: the same flags give the same output.
  EXPECT_EQ(simulate_cli({"--spec", kSpec, "--trace", "step", "--duration", "30m",
                          "--rebalance-pause=5s", "--seed", "3"})
                .out,
            run.out);
}

TEST(SimulateCli, SpecsOfEverySourceKindSimulateWithWhatThatSourceReports) {
  const std::string rabbitmq = temp_path("rabbitmq.yaml");
  std::ofstream(rabbitmq) << R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata: {name: jobs}
spec:
  source:
    rabbitmq: {host: rabbitmq.shop, queue: jobs}
  target: {apiVersion: apps/v1, kind: Deployment, name: worker}
  scaling: {maxReplicas: 40}
)";
  const CliRun queue = simulate_cli({"--spec", rabbitmq, "--trace", "step", "--duration", "30m"});
  ASSERT_EQ(queue.code, 0) << queue.err;
  // No partitions: no cap below maxReplicas.
  EXPECT_THAT(queue.out, HasSubstr("40 consumers at most (no partitions)"));

  const std::string prometheus = temp_path("prometheus.yaml");
  std::ofstream(prometheus) << R"yaml(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata: {name: sqs}
spec:
  source:
    prometheus: {serverUrl: "http://prometheus:9090", depthQuery: "sum(sqs_visible)"
}
  target: {apiVersion: apps/v1, kind: Deployment, name: worker}
  scaling: {maxReplicas: 30}
)yaml";
  const CliRun depth = simulate_cli({"--spec", prometheus, "--trace", "step", "--duration", "30m",
                                     "--decisions", temp_path("sqs-decisions.csv")});
  ASSERT_EQ(depth.code, 0) << depth.err;
  // The depth query's source has no rates: drainTime never learns a per-replica rate and plans
  // with its lagPerReplica rule at every poll (docs/sources/prometheus.md).
  const std::string decisions = read(temp_path("sqs-decisions.csv"));
  EXPECT_THAT(decisions, HasSubstr("(drainTime: no per-replica rate learned yet)"));
  EXPECT_THAT(decisions, Not(HasSubstr("draining at")));
}

TEST(SimulateCli, OracleBoundIsOnByDefaultAndSaysWhenNothingMeetsTheObjective) {
  const CliRun without = simulate_cli(
      {"--spec", kSpec, "--trace", "constant:rate=2000", "--duration", "10m", "--no-oracle"});
  ASSERT_EQ(without.code, 0) << without.err;
  EXPECT_THAT(without.out, Not(HasSubstr("  oracle     ")));
  EXPECT_THAT(without.out, Not(HasSubstr("oracle bound")));
  // 2,000 msg/s = 5 replicas; the last 30 s of arrivals may stay queued: 5 x 570 s.
  const CliRun with = simulate_cli({"--spec", kSpec, "--trace", "constant:rate=2000", "--duration",
                                    "10m", "--oracle", "--service-noise", "0"});
  ASSERT_EQ(with.code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("costs less than 2,850 replica-seconds (2,850 consuming + 0 "
                                  "starting up; blocks of 1s)"));
  EXPECT_THAT(with.out, HasSubstr("x the oracle bound 2,850; mean "));
  const CliRun impossible = simulate_cli({"--spec", kSpec, "--trace", "constant:rate=12000",
                                          "--duration", "10m", "--policy-baseline", "all"});
  ASSERT_EQ(impossible.code, 0) << impossible.err;
  EXPECT_THAT(impossible.out, HasSubstr("oracle     no schedule meets the objective: arrivals "
                                        "reach 12,000 msg/s at 0s, more than 24 "
                                        "consumers x 400 msg/s = 9,600 msg/s"));
  EXPECT_THAT(impossible.out, Not(HasSubstr("vs oracle")));
}

TEST(SimulateCli, ConsumerStallsAreListedAndStopConsumption) {
  const CliRun stalled = simulate_cli({"--spec", kSpec, "--trace", "constant:rate=2000",
                                       "--duration", "30m", "--consumer-stall", "10m+5m,20m+1m"});
  ASSERT_EQ(stalled.code, 0) << stalled.err;
  EXPECT_THAT(stalled.out, HasSubstr("  stall      the group consumes nothing from 10m for 5m\n"
                                     "  stall      the group consumes nothing from 20m for 1m\n"));
  const auto max_lag_seconds = [](const std::string& out) {
    const std::string label = "max lagSeconds";
    const std::size_t at = out.find(label);
    return at == std::string::npos ? -1.0 : std::stod(out.substr(at + label.size()));
  };
  // The oldest message waits out the whole 5-minute stall.
  EXPECT_GE(max_lag_seconds(stalled.out), 300) << stalled.out;
  const CliRun steady =
      simulate_cli({"--spec", kSpec, "--trace", "constant:rate=2000", "--duration", "30m"});
  EXPECT_THAT(steady.out, Not(HasSubstr("stall ")));
  EXPECT_GE(max_lag_seconds(steady.out), 0) << steady.out;
  EXPECT_LT(max_lag_seconds(steady.out), 60) << steady.out;
}

TEST(SimulateCli, WritesCsvSvgAndDecisions) {
  const CliRun run =
      simulate_cli({"--trace", "spike", "--duration", "20m", "--csv", temp_path("s.csv"), "--svg",
                    temp_path("s.svg"), "--decisions", temp_path("d.csv"), "--objective", "45s"});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("objective  lagSeconds <= 45 s (from --objective)"));
  const std::string csv = read(temp_path("s.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 20 * 60);
  EXPECT_EQ(csv.rfind("time,arrivals,processed,lag,lagSeconds,replicasCurrent,replicasDesired", 0),
            0u);
  EXPECT_EQ(read(temp_path("s.svg")).rfind("<svg", 0), 0u);
  const std::string decisions = read(temp_path("d.csv"));
  EXPECT_EQ(std::count(decisions.begin(), decisions.end(), '\n'), 1 + 20 * 60 / 10);
  EXPECT_THAT(decisions, HasSubstr("0,"));
}

TEST(SimulateCli, ComparesAllPolicies) {
  const CliRun run =
      simulate_cli({"--spec", kSpec, "--trace", "constant:rate=3000", "--duration", "10m",
                    "--policy-baseline", "all", "--csv", temp_path("all.csv")});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("| constant:rate=3000 | lagpilot |"));
  EXPECT_THAT(run.out, HasSubstr("| constant:rate=3000 | hpa-keda |"));
  EXPECT_THAT(run.out, HasSubstr("| constant:rate=3000 | seed |"));
  for (const char* policy : {"lagpilot", "hpa-keda", "seed"}) {
    EXPECT_FALSE(read(temp_path(std::string("all-") + policy + ".csv")).empty()) << policy;
  }
}

TEST(SimulateCli, ProgressLine) {
  const CliRun run = simulate_cli({"--trace", "constant", "--duration", "1h", "--progress"});
  ASSERT_EQ(run.code, 0);
  EXPECT_THAT(run.err, HasSubstr("simulating lagpilot: 50 % (30m of 1h)\n"));
  EXPECT_THAT(run.err, HasSubstr("simulating lagpilot: 100 % (1h of 1h)\n"));
  const CliRun quiet = simulate_cli({"--trace", "constant", "--duration", "1h", "--quiet"});
  EXPECT_EQ(quiet.err, "");
}

TEST(SimulateCli, BadFlagsExitTwoAndNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : {
           Case{{"--frobnicate"}, "--frobnicate: unknown flag"},
           Case{{"--duration", "soon"}, "--duration: expected a positive duration"},
           Case{{"--service-rate", "0"}, "--service-rate: expected msg/s > 0"},
           Case{{"--service-noise", "2"}, "--service-noise: expected a fraction between 0 and 1"},
           Case{{"--partitions", "0"}, "--partitions: expected a count >= 1"},
           Case{{"--policy-baseline", "magic"}, "--policy-baseline: expected lagpilot, hpa-keda"},
           Case{{"--seed"}, "--seed: needs a value"},
           Case{{"--trace", "spike:peek=3"}, "trace spike: peek: unknown parameter"},
           Case{{"--consumer-stall", "30m"}, "--consumer-stall: expected START+LENGTH"},
           Case{{"--consumer-stall", "30m+10m,90m+0s"}, "got \"90m+0s\""},
       }) {
    const CliRun run = simulate_cli(c.args);
    EXPECT_EQ(run.code, 2) << c.args[0];
    EXPECT_THAT(run.err, HasSubstr(c.message)) << c.args[0];
    EXPECT_EQ(run.out, "") << c.args[0];
  }
}

TEST(SimulateCli, BadFilesExitTwoAndNameFileLineAndField) {
  const std::string trace = temp_path("bad_trace.csv");
  std::ofstream(trace) << "time,arrivals\n0,100\n60,many\n";
  CliRun run = simulate_cli({"--trace", trace});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "lagpilot simulate: " + trace + ":3: arrivals: not a number: \"many\"\n");

  const std::string spec = temp_path("bad_spec.yaml");
  std::ofstream(spec) << "kind: QueueMonitor\nspec:\n  source: {kafka: {topic: t}}\n"
                         "  target: {apiVersion: apps/v1, kind: Deployment, name: c}\n"
                         "  scaling:\n    targetDrainSeconds: -5\n";
  run = simulate_cli({"--spec", spec});
  EXPECT_EQ(run.code, 2);
  EXPECT_EQ(run.err, "lagpilot simulate: " + spec +
                         ":6: spec.scaling.targetDrainSeconds: must be between 1 and 86400, got "
                         "-5\n");
}

TEST(SimulateCli, UnwritableOutputExitsOne) {
  const CliRun run = simulate_cli(
      {"--trace", "constant", "--duration", "1m", "--csv", "/nonexistent/dir/out.csv"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("/nonexistent/dir/out.csv: cannot write"));
  EXPECT_THAT(run.out, Not(HasSubstr("wrote")));
}

}  // namespace
}  // namespace lagpilot::sim
