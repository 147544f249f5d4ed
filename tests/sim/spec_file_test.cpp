#include "sim/spec_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/sim/temp_path.h"

namespace lagpilot::sim {
namespace {

using ::testing::HasSubstr;

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path) << text;
  return path;
}

constexpr char kHead[] = R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    kafka: {bootstrapServers: k:9092, topic: orders, consumerGroup: g}
  target:
    apiVersion: apps/v1
    kind: Deployment
    name: consumer
)";

TEST(SimulationSpec, TheExampleManifestParsesAsTheControllerParsesIt) {
  auto spec =
      load_simulation_spec(std::string(LAGPILOT_SOURCE_DIR) + "/examples/queuemonitor-full.yaml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->monitor.scaling.max_replicas, 24);
  EXPECT_EQ(spec->monitor.scaling.policy, scaler::Policy::kDrainTime);
  EXPECT_EQ(spec->monitor.poll_interval_seconds, 10);
  ASSERT_TRUE(spec->lag_seconds_objective);
  EXPECT_EQ(*spec->lag_seconds_objective, 30);
  std::string what;
  EXPECT_EQ(objective_seconds(*spec, &what), 30);
  EXPECT_EQ(what, "the lagSeconds SLO");
}

TEST(SimulationSpec, DefaultsAreTheCrdDefaults) {
  const SimulationSpec spec = default_simulation_spec();
  const scaler::ScalingSpec defaults;
  const scaler::ScalingSpec& s = spec.monitor.scaling;
  EXPECT_EQ(s.policy, defaults.policy);
  EXPECT_EQ(s.min_replicas, defaults.min_replicas);
  EXPECT_EQ(s.max_replicas, defaults.max_replicas);
  EXPECT_EQ(s.target_drain_seconds, defaults.target_drain_seconds);
  EXPECT_EQ(s.scale_down.stabilization_seconds, defaults.scale_down.stabilization_seconds);
  EXPECT_EQ(s.cooldown_seconds, defaults.cooldown_seconds);
  EXPECT_EQ(spec.monitor.poll_interval_seconds, 10);
  std::string what;
  EXPECT_EQ(objective_seconds(spec, &what), 60);
  EXPECT_EQ(what, "targetDrainSeconds");
}

TEST(SimulationSpec, OtherDocumentsAreIgnored) {
  const std::string path = write_file("spec_multi.yaml", std::string(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: consumer}
---
)") + kHead + R"(  scaling:
    maxReplicas: 12
)");
  auto spec = load_simulation_spec(path);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->monitor.scaling.max_replicas, 12);
}

struct BadSpec {
  std::string scaling;  // appended after kHead
  int line;             // expected line
  std::string message;  // expected message after "FILE:LINE: "
};

class SimulationSpecErrors : public ::testing::TestWithParam<BadSpec> {};

TEST_P(SimulationSpecErrors, NameTheFileLineAndField) {
  const BadSpec& bad = GetParam();
  const std::string path = write_file("spec_bad.yaml", std::string(kHead) + bad.scaling);
  auto spec = load_simulation_spec(path);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, path + ":" + std::to_string(bad.line) + ": " + bad.message);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, SimulationSpecErrors,
    ::testing::Values(
        BadSpec{"  scaling:\n    minReplicas: 1\n    maxReplicas: lots\n", 14,
                "spec.scaling.maxReplicas: must be an integer"},
        BadSpec{"  scaling:\n    scaleUp: {stabilizationSeconds: 0, periodSeconds: 0}\n", 13,
                "spec.scaling.scaleUp.periodSeconds: must be between 1 and 1800, got 0"},
        BadSpec{"  scaling:\n    policy: fastest\n", 13,
                "spec.scaling.policy: must be drainTime, lagPerReplica or depthLatency, got "
                "\"fastest\""},
        BadSpec{"  pollIntervalSeconds: 0\n", 12,
                "spec.pollIntervalSeconds: must be between 1 and 3600, got 0"},
        BadSpec{"  slos:\n  - name: a\n    metric: consumerLag\n    goodWhen: {op: \"<=\", "
                "threshold: 5}\n  - name: b\n    metric: lagSeconds\n    goodWhen:\n"
                "      op: \"<=\"\n      threshold: fast\n",
                20, "spec.slos[1].goodWhen.threshold: a number is required"}));

TEST(SimulationSpec, YamlSyntaxErrorsNameTheLine) {
  const std::string path =
      write_file("spec_syntax.yaml", std::string(kHead) + "  scaling:\n    maxReplicas: [3\n");
  auto spec = load_simulation_spec(path);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, "InvalidYaml");
  EXPECT_THAT(spec.error().message, HasSubstr(path + ":"));
}

TEST(SimulationSpec, NeedsExactlyOneQueueMonitor) {
  const std::string path = write_file("spec_none.yaml", "apiVersion: v1\nkind: ConfigMap\n");
  auto spec = load_simulation_spec(path);
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, path + ":1: kind: expected one QueueMonitor document, found 0");
  auto missing = load_simulation_spec("/nonexistent/qm.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/qm.yaml: cannot read spec file");
}

TEST(LocateYamlField, FollowsBlocksFlowMappingsAndLists) {
  const std::string text = R"(kind: QueueMonitor
spec:
  scaling:
    maxReplicas: 3   # comment
    scaleDown: {stabilizationSeconds: 300, periodSeconds: 60}
  target:
    name: x
  slos:
  - name: a
    metric: lagSeconds
  - name: b
    goodWhen:
      threshold: 5
)";
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.scaling.maxReplicas"), 4);
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.scaling.scaleDown.periodSeconds"), 5);
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.target.name"), 7);
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.slos[1].goodWhen.threshold"), 13);
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.slos[0].metric"), 10);
  // Not there: the nearest enclosing key.
  EXPECT_EQ(locate_yaml_field(text, 1, "spec.scaling.minReplicas"), 3);
  EXPECT_EQ(locate_yaml_field(text, 1, "status.x"), std::nullopt);
}

}  // namespace
}  // namespace lagpilot::sim
