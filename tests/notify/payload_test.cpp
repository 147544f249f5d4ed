#include "notify/payload.h"

#include <gtest/gtest.h>

#include <regex>

namespace lagpilot::notify {
namespace {

using namespace std::chrono_literals;

const WallTime kT0 = WallTime{std::chrono::seconds(1'700'000'000)};

MonitorAlerts shop_orders() {
  MonitorAlerts alerts;
  alerts.monitor = {"shop", "orders"};
  alerts.labels = {{"topic", "orders"}};
  Alert lag;
  lag.name = "HighConsumerLag";
  lag.severity = Severity::kHigh;
  lag.labels = {{"team", "payments"}, {"severity", "info"}, {"namespace", "spoofed"}};
  lag.summary = "lag is 48200 messages on orders";
  lag.value = 48200;
  lag.since = kT0;
  Alert latency;
  latency.name = "SlowProcessing";
  latency.severity = Severity::kMedium;
  latency.labels = {{"team", "payments"}};
  latency.summary = "p95 is 0.42 s";
  latency.value = 0.42;
  latency.since = kT0 + 30s;
  alerts.firing = {lag, latency};
  return alerts;
}

TEST(SeverityTest, ParsesNamesAndOrdersMostSevereFirst) {
  EXPECT_EQ(parse_severity("critical"), Severity::kCritical);
  EXPECT_EQ(parse_severity("info"), Severity::kInfo);
  EXPECT_FALSE(parse_severity("warning").has_value());
  EXPECT_LT(Severity::kCritical, Severity::kHigh);
  EXPECT_LT(Severity::kLow, Severity::kInfo);
  for (auto s :
       {Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kLow, Severity::kInfo}) {
    EXPECT_EQ(parse_severity(severity_name(s)), s);
  }
}

TEST(AlertRecordTest, BuiltinLabelsWinOverRuleLabels) {
  auto monitor = shop_orders();
  AlertRecord record = make_alert_record(monitor, monitor.firing[0]);
  EXPECT_EQ(record.labels.at("alertname"), "HighConsumerLag");
  EXPECT_EQ(record.labels.at("severity"), "high");
  EXPECT_EQ(record.labels.at("namespace"), "shop");
  EXPECT_EQ(record.labels.at("queuemonitor"), "orders");
  EXPECT_EQ(record.labels.at("topic"), "orders");
  EXPECT_EQ(record.labels.at("team"), "payments");
  EXPECT_EQ(record.annotations.at("summary"), "lag is 48200 messages on orders");
  EXPECT_EQ(record.annotations.at("value"), "48200");
  EXPECT_EQ(record.starts_at, kT0);
  EXPECT_TRUE(std::regex_match(record.fingerprint, std::regex("[0-9a-f]{16}")));
}

TEST(AlertRecordTest, FingerprintDependsOnLabelsOnly) {
  auto monitor = shop_orders();
  Alert alert = monitor.firing[0];
  const std::string first = make_alert_record(monitor, alert).fingerprint;
  alert.value = 1;
  alert.summary = "changed";
  alert.since = kT0 + 1h;
  EXPECT_EQ(make_alert_record(monitor, alert).fingerprint, first);
  alert.labels["team"] = "other";
  EXPECT_NE(make_alert_record(monitor, alert).fingerprint, first);
  EXPECT_NE(label_fingerprint({{"a", "bc"}}), label_fingerprint({{"ab", "c"}}));
}

TEST(AlertmanagerPayloadTest, CarriesTheWholeGroupInVersion4Shape) {
  auto monitor = shop_orders();
  AlertRecord lag = make_alert_record(monitor, monitor.firing[0]);
  AlertRecord slow = make_alert_record(monitor, monitor.firing[1]);
  AlertRecord gone = slow;
  gone.labels["alertname"] = "LowConsumers";
  gone.fingerprint = label_fingerprint(gone.labels);
  gone.ends_at = kT0 + 90s;
  Notification notification{monitor.monitor, "oncall", {lag, slow}, {gone}};

  nlohmann::json body = alertmanager_payload(notification, "http://lagpilot.example/ui");
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["groupKey"], "lagpilot/oncall:{namespace=\"shop\", queuemonitor=\"orders\"}");
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["receiver"], "oncall");
  EXPECT_EQ(body["truncatedAlerts"], 0);
  EXPECT_EQ(body["externalURL"], "http://lagpilot.example/ui");
  EXPECT_EQ(body["groupLabels"],
            (nlohmann::json{{"namespace", "shop"}, {"queuemonitor", "orders"}}));
  EXPECT_EQ(body["commonLabels"], (nlohmann::json{{"namespace", "shop"},
                                                  {"queuemonitor", "orders"},
                                                  {"team", "payments"},
                                                  {"topic", "orders"}}));
  EXPECT_EQ(body["commonAnnotations"], nlohmann::json::object());
  ASSERT_EQ(body["alerts"].size(), 3u);
  const auto& first = body["alerts"][0];
  EXPECT_EQ(first["status"], "firing");
  EXPECT_EQ(first["labels"]["alertname"], "HighConsumerLag");
  EXPECT_EQ(first["labels"]["severity"], "high");
  EXPECT_EQ(first["annotations"]["summary"], "lag is 48200 messages on orders");
  EXPECT_EQ(first["startsAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(first["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(first["fingerprint"], lag.fingerprint);
  EXPECT_EQ(first["generatorURL"], "http://lagpilot.example/ui");
  const auto& resolved = body["alerts"][2];
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(resolved["labels"]["alertname"], "LowConsumers");
  EXPECT_EQ(resolved["endsAt"], "2023-11-14T22:14:50Z");
}

TEST(AlertmanagerPayloadTest, OnlyResolvedAlertsMakeAResolvedGroup) {
  auto monitor = shop_orders();
  AlertRecord lag = make_alert_record(monitor, monitor.firing[0]);
  lag.ends_at = kT0 + 10min;
  nlohmann::json body = alertmanager_payload({monitor.monitor, "oncall", {}, {lag}}, "");
  EXPECT_EQ(body["status"], "resolved");
  ASSERT_EQ(body["alerts"].size(), 1u);
  EXPECT_EQ(body["alerts"][0]["status"], "resolved");
  // One alert: everything is common.
  EXPECT_EQ(body["commonLabels"]["alertname"], "HighConsumerLag");
  EXPECT_EQ(body["commonAnnotations"]["summary"], "lag is 48200 messages on orders");
}

TEST(SlackPayloadTest, TextSummarisesAndAttachmentsDetailEachAlert) {
  auto monitor = shop_orders();
  monitor.firing[1].summary = "p95 <0.5 s> & rising";
  AlertRecord lag = make_alert_record(monitor, monitor.firing[0]);
  AlertRecord slow = make_alert_record(monitor, monitor.firing[1]);
  AlertRecord gone = make_alert_record(monitor, monitor.firing[1]);
  gone.labels["alertname"] = "LowConsumers";
  gone.ends_at = kT0 + 5min;
  nlohmann::json body = slack_payload({monitor.monitor, "chat", {lag, slow}, {gone}}, "");
  EXPECT_EQ(body["text"],
            "[FIRING:2] QueueMonitor shop/orders: HighConsumerLag (high), SlowProcessing "
            "(medium); resolved: LowConsumers");
  ASSERT_EQ(body["attachments"].size(), 3u);
  EXPECT_EQ(body["attachments"][0]["color"], "danger");
  EXPECT_EQ(body["attachments"][0]["title"], "[FIRING] HighConsumerLag (high)");
  EXPECT_EQ(body["attachments"][0]["text"], "lag is 48200 messages on orders");
  EXPECT_EQ(body["attachments"][1]["color"], "warning");
  EXPECT_EQ(body["attachments"][1]["text"], "p95 &lt;0.5 s&gt; &amp; rising");
  EXPECT_EQ(body["attachments"][2]["color"], "good");
  EXPECT_EQ(body["attachments"][2]["title"], "[RESOLVED] LowConsumers (medium)");
  EXPECT_EQ(body["attachments"][2]["ts"], 1'700'000'300);

  nlohmann::json resolved = slack_payload({monitor.monitor, "chat", {}, {gone}}, "");
  EXPECT_EQ(resolved["text"], "[RESOLVED] QueueMonitor shop/orders: LowConsumers");
}

}  // namespace
}  // namespace lagpilot::notify
