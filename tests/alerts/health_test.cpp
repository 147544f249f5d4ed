#include "alerts/health.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using testing::at;

ActiveAlert firing(const char* name, Severity severity) {
  return {name, severity, AlertState::kFiring, at(0), 1, "summary"};
}

SloStatus slo(const char* name, bool exhausted) {
  SloStatus status;
  status.name = name;
  status.budget_exhausted = exhausted;
  status.budget_remaining_percent = exhausted ? -5 : 40;
  return status;
}

GroupProgress stalled() {
  GroupProgress progress;
  progress.stalled = true;
  progress.stalled_since = at(0);
  return progress;
}

TEST(AssessHealth, VerdictsTable) {
  struct Row {
    const char* what;
    HealthInputs inputs;
    Health health;
    std::vector<std::string> reasons;
  };
  auto inputs = [] { return HealthInputs{}; };
  std::vector<Row> rows;
  rows.push_back({"nothing wrong", inputs(), Health::kHealthy, {}});
  {
    HealthInputs in = inputs();
    in.source_reachable = false;
    in.source_error = "broker kafka-0:9092 refused the connection";
    rows.push_back({"source down",
                    in,
                    Health::kUnhealthy,
                    {"source unreachable: broker kafka-0:9092 refused the connection"}});
  }
  {
    HealthInputs in = inputs();
    in.alerts = {firing("LagCritical", Severity::kCritical)};
    rows.push_back({"critical fires", in, Health::kUnhealthy, {"LagCritical firing (critical)"}});
  }
  {
    HealthInputs in = inputs();
    in.slos = {slo("freshness", true), slo("ok", false)};
    rows.push_back(
        {"budget spent", in, Health::kUnhealthy, {"SLO freshness error budget exhausted"}});
  }
  for (Severity severity : {Severity::kHigh, Severity::kMedium, Severity::kLow}) {
    HealthInputs in = inputs();
    in.alerts = {firing("X", severity)};
    rows.push_back({"lower severity fires",
                    in,
                    Health::kDegraded,
                    {"X firing (" + std::string(to_string(severity)) + ")"}});
  }
  {
    HealthInputs in = inputs();
    in.alerts = {firing("Note", Severity::kInfo)};
    rows.push_back({"info never counts", in, Health::kHealthy, {}});
  }
  {
    HealthInputs in = inputs();
    ActiveAlert pending = firing("Soon", Severity::kCritical);
    pending.state = AlertState::kPending;
    in.alerts = {pending};
    rows.push_back({"pending does not count", in, Health::kHealthy, {}});
  }
  {
    HealthInputs in = inputs();
    in.growing_at_max = true;
    rows.push_back(
        {"growing at max", in, Health::kDegraded, {"replicas at maximum while lag grows"}});
  }
  {
    HealthInputs in = inputs();
    in.progress = stalled();
    rows.push_back({"stalled",
                    in,
                    Health::kDegraded,
                    {"consumer group stalled: committed offsets not moving while lag > 0 since "
                     "2023-11-15T00:00:00Z"}});
  }
  {
    HealthInputs in = inputs();
    in.progress.rewinding = true;
    in.progress.last_rewind_at = at(60);
    in.progress.last_rewind_messages = 4000;
    rows.push_back({"rewinding",
                    in,
                    Health::kDegraded,
                    {"consumer group rewinding: committed offsets moved back by 4000 at "
                     "2023-11-15T00:01:00Z"}});
  }
  {
    HealthInputs in = inputs();
    in.alerts = {firing("Medium", Severity::kMedium), firing("Crit", Severity::kCritical)};
    in.source_reachable = false;
    in.growing_at_max = true;
    rows.push_back({"most severe first",
                    in,
                    Health::kUnhealthy,
                    {"source unreachable", "Crit firing (critical)", "Medium firing (medium)",
                     "replicas at maximum while lag grows"}});
  }
  for (const auto& row : rows) {
    const HealthVerdict verdict = assess_health(row.inputs);
    EXPECT_EQ(verdict.health, row.health) << row.what;
    EXPECT_EQ(verdict.reasons, row.reasons) << row.what;
  }
}

TEST(AssessHealth, KeepsTheCrdBoundsOnReasons) {
  HealthInputs inputs;
  for (int i = 0; i < 30; ++i) {
    inputs.alerts.push_back(firing("a", Severity::kHigh));
    inputs.alerts.back().name = std::string(2000, 'x');
  }
  const HealthVerdict verdict = assess_health(inputs);
  EXPECT_EQ(verdict.reasons.size(), 20u);
  EXPECT_EQ(verdict.reasons[0].size(), 1024u);
}

TEST(Health, CrdSpellings) {
  EXPECT_EQ(to_string(Health::kHealthy), "Healthy");
  EXPECT_EQ(to_string(Health::kDegraded), "Degraded");
  EXPECT_EQ(to_string(Health::kUnhealthy), "Unhealthy");
  EXPECT_EQ(to_string(Health::kUnknown), "Unknown");
}

}  // namespace
}  // namespace lagpilot::alerts
