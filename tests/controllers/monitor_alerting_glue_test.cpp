// What counts as news in a status (written at once) and what is the passing of time (throttled).
#include "controllers/status_builder.h"

#include "controllers/monitor_alerting_glue.h"

#include <gtest/gtest.h>

namespace lagpilot::controllers {
namespace {

using nlohmann::json;

json base_status() {
  return json::parse(R"({
    "health": "Healthy",
    "metrics": {"consumerLag": 10, "lagSeconds": 1.5, "lastPollTime": "2026-12-01T00:00:00Z"},
    "alerts": [{"name": "LagHigh", "state": "pending", "since": "2026-12-01T00:00:00Z",
                "value": 10, "summary": "lag is 10"}],
    "slos": [{"name": "fresh", "sliPercent": 99.5, "errorBudgetRemainingPercent": 40,
              "buckets": "v1;abc"}]
  })");
}

TEST(RunningFigures, MetricValuesAlertValuesAndSloFiguresAreThePassingOfTime) {
  json later = base_status();
  later["metrics"]["consumerLag"] = 12;
  later["metrics"]["lagSeconds"] = 2.5;
  later["metrics"]["lastPollTime"] = "2026-12-01T00:00:10Z";
  later["alerts"][0]["value"] = 12;
  later["alerts"][0]["summary"] = "lag is 12";
  later["slos"][0]["sliPercent"] = 99.4;
  later["slos"][0]["errorBudgetRemainingPercent"] = 38;
  later["slos"][0]["buckets"] = "v1;abd";
  EXPECT_EQ(without_running_figures(base_status()), without_running_figures(later));
}

TEST(RunningFigures, AMetricBecomingKnownIsNews) {
  json later = base_status();
  later["metrics"]["ingressRate"] = 0;  // the rates appear at the second poll
  EXPECT_NE(without_running_figures(base_status()), without_running_figures(later));
  json gone = base_status();
  gone["metrics"].erase("lagSeconds");
  EXPECT_NE(without_running_figures(base_status()), without_running_figures(gone));
}

TEST(RunningFigures, StateChangesAreNews) {
  json firing = base_status();
  firing["alerts"][0]["state"] = "firing";
  EXPECT_NE(without_running_figures(base_status()), without_running_figures(firing));
  json exhausted = base_status();
  exhausted["slos"][0]["errorBudgetRemainingPercent"] = 0;
  EXPECT_NE(without_running_figures(base_status()), without_running_figures(exhausted));
  json degraded = base_status();
  degraded["health"] = "Degraded";
  EXPECT_NE(without_running_figures(base_status()), without_running_figures(degraded));
}

TEST(QueueName, WhatSummariesCallTheQueueForEveryKind) {
  EXPECT_EQ(queue_name({{"topic", "orders"}}), "orders");
  EXPECT_EQ(queue_name({{"queue", "jobs"}}), "jobs");
  EXPECT_EQ(queue_name({{"stream", "events"}}), "events");
  EXPECT_EQ(queue_name({{"consumer", "workers"}, {"stream", "ORDERS"}}), "ORDERS/workers");
  EXPECT_EQ(queue_name({{"query", "sum(sqs_messages_visible)"}}), "sum(sqs_messages_visible)");
  EXPECT_EQ(queue_name({{"topic", ""}, {"zone", "a"}}), "a");
  EXPECT_EQ(queue_name({}), "");
}

}  // namespace
}  // namespace lagpilot::controllers
