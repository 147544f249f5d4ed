#include "alerts/status_json.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;
using testing::at;

TEST(StatusJson, ActiveAlertsMatchTheCrdShape) {
  const std::vector<ActiveAlert> alerts = {
      {"HighConsumerLag", Severity::kHigh, AlertState::kFiring, at(130), 48213,
       "lag is 48200 messages on orders"},
      {"LagSecondsHigh", Severity::kMedium, AlertState::kPending, at(140), std::nullopt, "x"},
  };
  const Json expected = Json::parse(R"([
    {"name": "HighConsumerLag", "severity": "high", "state": "firing",
     "since": "2023-11-15T00:02:10Z", "value": 48200, "summary": "lag is 48200 messages on orders"},
    {"name": "LagSecondsHigh", "severity": "medium", "state": "pending",
     "since": "2023-11-15T00:02:20Z", "summary": "x"}
  ])");
  const Json actual = active_alerts_json(alerts);
  EXPECT_EQ(actual, expected);
  EXPECT_TRUE(actual[0]["value"].is_number_integer());
}

TEST(StatusJson, AlertHistoryMatchesTheCrdShape) {
  const std::vector<ResolvedAlert> history = {
      {"HighConsumerLag", Severity::kCritical, at(0), at(600), 0.42137, "peak"}};
  EXPECT_EQ(alert_history_json(history), Json::parse(R"([
    {"name": "HighConsumerLag", "severity": "critical", "firedAt": "2023-11-15T00:00:00Z",
     "resolvedAt": "2023-11-15T00:10:00Z", "peakValue": 0.421, "summary": "peak"}
  ])"));
}

TEST(StatusJson, SloStatusIsRoundedSoFloatNoiseDoesNotChangeIt) {
  SloStatus slo;
  slo.name = "freshness";
  slo.sli_percent = 99.7134999;
  slo.budget_remaining_percent = 41.96666;
  slo.budget_remaining_seconds = 1234.56;
  slo.burn_rates = {{"5m", 9.1234}, {"1h", 2.3}, {"6h", 0.8049999}};
  slo.buckets = "v1;abc";
  EXPECT_EQ(slo_status_json(slo), Json::parse(R"({
    "name": "freshness", "sliPercent": 99.713, "errorBudgetRemainingPercent": 42,
    "errorBudgetRemainingSeconds": 1235, "burnRates": {"5m": 9.12, "1h": 2.3, "6h": 0.8},
    "buckets": "v1;abc"})"));
  slo.sli_percent = 99.7130001;  // noise below the rounding: same status
  slo.budget_remaining_seconds = 1234.9;
  EXPECT_EQ(slo_status_json(slo)["sliPercent"], 99.713);
  EXPECT_EQ(slo_status_json(slo)["errorBudgetRemainingSeconds"], 1235);

  SloStatus empty;
  empty.name = "new";
  empty.budget_remaining_seconds = 3024;
  EXPECT_EQ(slo_status_json(empty), Json::parse(R"({
    "name": "new", "errorBudgetRemainingPercent": 100, "errorBudgetRemainingSeconds": 3024,
    "burnRates": {}})"));
}

TEST(StatusJson, ParsesBackWhatItWrote) {
  const std::vector<ActiveAlert> alerts = {
      {"A", Severity::kLow, AlertState::kPending, at(10), 5, "five"},
      {"B", Severity::kCritical, AlertState::kFiring, at(20), std::nullopt, ""}};
  const auto parsed = parse_active_alerts(active_alerts_json(alerts));
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].name, "A");
  EXPECT_EQ(parsed[0].severity, Severity::kLow);
  EXPECT_EQ(parsed[0].state, AlertState::kPending);
  EXPECT_EQ(parsed[0].since, at(10));
  EXPECT_EQ(parsed[0].value, 5);
  EXPECT_EQ(parsed[0].summary, "five");
  EXPECT_EQ(parsed[1].state, AlertState::kFiring);
  EXPECT_FALSE(parsed[1].value);

  const std::vector<ResolvedAlert> history = {{"A", Severity::kHigh, at(0), at(60), 3, "s"}};
  const auto back = parse_alert_history(alert_history_json(history));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].fired_at, at(0));
  EXPECT_EQ(back[0].resolved_at, at(60));
  EXPECT_EQ(back[0].peak_value, 3);
}

TEST(StatusJson, SkipsEntriesItCannotUse) {
  const Json alerts = Json::parse(R"([
    {"name": "NoSince", "state": "firing"},
    {"name": "BadState", "state": "resolved", "since": "2023-11-15T00:00:00Z"},
    {"state": "firing", "since": "2023-11-15T00:00:00Z"},
    "junk",
    {"name": "Ok", "state": "firing", "since": "2023-11-15T00:00:00Z", "severity": "bogus"}
  ])");
  const auto parsed = parse_active_alerts(alerts);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].name, "Ok");
  EXPECT_EQ(parsed[0].severity, Severity::kMedium);
  EXPECT_TRUE(parse_active_alerts(Json()).empty());
  EXPECT_TRUE(parse_alert_history(Json::object()).empty());
}

TEST(StatusNumber, WholeNumbersAreIntegers) {
  EXPECT_TRUE(status_number(42.0).is_number_integer());
  EXPECT_TRUE(status_number(-6.0).is_number_integer());
  EXPECT_TRUE(status_number(0.5).is_number_float());
  EXPECT_EQ(status_number(42.0), 42);
}

}  // namespace
}  // namespace lagpilot::alerts
