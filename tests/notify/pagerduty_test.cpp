// The pagerduty notification target against a local Events API v2 receiver (a TestHttpServer)
// that checks each event against the documented schema and answers as PagerDuty does: 202
// {"status":"success",...} or 400 {"status":"invalid event","errors":[...]}.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "notify/webhook_notifier.h"
#include "notify/webhook_spec.h"
#include "tests/notify/test_http_server.h"

namespace lagpilot::notify {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testkit::HttpReply;
using testkit::HttpRequestRecord;
using testkit::TestHttpServer;

constexpr auto kWait = 10s;
const std::string kRoutingKey = "R0123456789abcdef0123456789abcde";  // 32 characters

bool is_string(const nlohmann::json& object, const char* key) {
  return object.contains(key) && object[key].is_string();
}

// Problems of one event under https://developer.pagerduty.com/docs/events-api-v2/trigger-events
// and .../resolve-events; empty when valid.
std::vector<std::string> schema_problems(const HttpRequestRecord& request) {
  std::vector<std::string> problems;
  if (request.method != "POST" || request.target != "/v2/enqueue") {
    problems.push_back("not POST /v2/enqueue");
  }
  if (request.headers.count("content-type") == 0 ||
      request.headers.at("content-type").find("application/json") == std::string::npos) {
    problems.push_back("Content-Type must be application/json");
  }
  auto event = nlohmann::json::parse(request.body, nullptr, false);
  if (!event.is_object()) return {"body is not a JSON object"};
  static const std::set<std::string> kTopLevel{"routing_key", "event_action", "dedup_key",
                                               "payload",     "images",       "links",
                                               "client",      "client_url"};
  for (const auto& [key, value] : event.items()) {
    if (kTopLevel.count(key) == 0) problems.push_back("unknown field " + key);
  }
  if (!is_string(event, "routing_key") || event["routing_key"].get<std::string>().size() != 32) {
    problems.push_back("routing_key must be a 32-character integration key");
  }
  const std::string action = event.value("event_action", "");
  if (action != "trigger" && action != "acknowledge" && action != "resolve") {
    problems.push_back("event_action must be trigger, acknowledge or resolve");
  }
  if (event.contains("dedup_key") &&
      (!event["dedup_key"].is_string() || event["dedup_key"].get<std::string>().size() > 255)) {
    problems.push_back("dedup_key must be a string of at most 255 characters");
  }
  if (action != "trigger" && !event.contains("dedup_key")) {
    problems.push_back("dedup_key is required for " + action);
  }
  if (action == "trigger") {
    const auto& payload = event.value("payload", nlohmann::json());
    if (!payload.is_object()) {
      problems.push_back("payload is required");
      return problems;
    }
    if (!is_string(payload, "summary") || payload["summary"].get<std::string>().empty() ||
        payload["summary"].get<std::string>().size() > 1024) {
      problems.push_back("payload.summary must be 1-1024 characters");
    }
    if (!is_string(payload, "source") || payload["source"].get<std::string>().empty()) {
      problems.push_back("payload.source is required");
    }
    static const std::set<std::string> kSeverities{"critical", "error", "warning", "info"};
    if (!is_string(payload, "severity") || kSeverities.count(payload["severity"]) == 0) {
      problems.push_back("payload.severity must be critical, error, warning or info");
    }
    if (payload.contains("timestamp") &&
        (!payload["timestamp"].is_string() || !parse_rfc3339(payload["timestamp"]))) {
      problems.push_back("payload.timestamp must be ISO 8601");
    }
    for (const char* key : {"component", "group", "class"}) {
      if (payload.contains(key) && !payload[key].is_string()) {
        problems.push_back(std::string("payload.") + key + " must be a string");
      }
    }
    if (payload.contains("custom_details") && !payload["custom_details"].is_object()) {
      problems.push_back("payload.custom_details must be an object");
    }
  }
  if (event.contains("links")) {
    if (!event["links"].is_array()) problems.push_back("links must be a list");
    for (const auto& link : event["links"]) {
      if (!is_string(link, "href")) problems.push_back("links[].href is required");
    }
  }
  return problems;
}

HttpReply pagerduty_reply(const HttpRequestRecord& request) {
  auto problems = schema_problems(request);
  if (!problems.empty()) {
    return HttpReply{400, nlohmann::json{{"status", "invalid event"},
                                         {"message", "Event object is invalid"},
                                         {"errors", problems}}
                              .dump()};
  }
  auto event = nlohmann::json::parse(request.body);
  return HttpReply{202, nlohmann::json{{"status", "success"},
                                       {"message", "Event processed"},
                                       {"dedup_key", event.value("dedup_key", "generated")}}
                            .dump()};
}

class PagerDutyTargetTest : public ::testing::Test {
 protected:
  std::unique_ptr<WebhookNotifier> make_notifier() {
    WebhookNotifierOptions options;
    options.workers = 2;
    options.request_timeout = 5s;
    options.max_attempts = 1;
    return std::make_unique<WebhookNotifier>(clock_, make_cpprest_http_sender(), options);
  }

  PagerDutyTarget target() {
    PagerDutyTarget out;
    out.name = "pagerduty";
    out.routing_key = kRoutingKey;
    out.url = pagerduty_.url("/v2/enqueue");
    out.monitor_url =
        "https://grafana.example.com/d/lagpilot?var-namespace={namespace}&var-name={name}";
    return out;
  }

  Alert alert(const std::string& name, Severity severity) {
    Alert out;
    out.name = name;
    out.severity = severity;
    out.summary = name + " summary";
    out.value = 7;
    out.since = t0_;
    return out;
  }

  MonitorAlerts monitor(std::vector<Alert> firing) {
    MonitorAlerts out;
    out.monitor = {"shop", "orders"};
    out.labels = {{"topic", "orders"}};
    out.firing = std::move(firing);
    return out;
  }

  void notify_and_settle(WebhookNotifier& notifier, const MonitorAlerts& alerts,
                         const PagerDutyTarget& pd) {
    notifier.notify(alerts, Receivers{{}, {}, {pd}});
    ASSERT_TRUE(notifier.wait_idle(kWait));
  }

  std::vector<nlohmann::json> events() const {
    std::vector<nlohmann::json> out;
    for (const auto& request : pagerduty_.requests()) {
      out.push_back(nlohmann::json::parse(request.body));
    }
    return out;
  }

  FakeClock clock_;
  const WallTime t0_ = clock_.now();
  TestHttpServer pagerduty_{pagerduty_reply};
};

TEST_F(PagerDutyTargetTest, TriggersOneEventPerAlertInTheDocumentedSchema) {
  auto notifier = make_notifier();
  auto lag = alert("ConsumerLagHigh", Severity::kMedium);
  lag.labels = {{"runbook_url", "https://runbooks.example.com/lag"}};
  notify_and_settle(*notifier, monitor({lag, alert("SourceUnreachable", Severity::kCritical)}),
                    target());
  EXPECT_EQ(notifier->stats().delivered, 2u)
      << "the receiver refused an event: "
      << (pagerduty_.requests().empty() ? "" : pagerduty_.requests()[0].body);
  EXPECT_EQ(notifier->stats().gave_up, 0u);
  ASSERT_EQ(events().size(), 2u);
  std::map<std::string, nlohmann::json> by_class;
  for (const auto& event : events()) by_class[event["payload"]["class"]] = event;
  const auto& lag_event = by_class.at("ConsumerLagHigh");
  EXPECT_EQ(lag_event["routing_key"], kRoutingKey);
  EXPECT_EQ(lag_event["event_action"], "trigger");
  EXPECT_THAT(lag_event["dedup_key"].get<std::string>(),
              HasSubstr("lagpilot/shop/orders/ConsumerLagHigh/"));
  EXPECT_EQ(lag_event["payload"]["severity"], "warning");
  EXPECT_EQ(lag_event["payload"]["source"], "queuemonitor/shop/orders");
  EXPECT_EQ(lag_event["payload"]["summary"], "[medium] shop/orders: ConsumerLagHigh summary");
  EXPECT_EQ(lag_event["payload"]["component"], "orders");
  EXPECT_EQ(lag_event["payload"]["timestamp"], format_rfc3339(t0_));
  EXPECT_EQ(lag_event["payload"]["custom_details"]["value"], "7");
  EXPECT_EQ(lag_event["client_url"],
            "https://grafana.example.com/d/lagpilot?var-namespace=shop&var-name=orders");
  EXPECT_EQ(lag_event["links"][1]["href"], "https://runbooks.example.com/lag");
  EXPECT_EQ(by_class.at("SourceUnreachable")["payload"]["severity"], "critical");
  EXPECT_NE(by_class.at("SourceUnreachable")["dedup_key"], lag_event["dedup_key"]);
}

TEST_F(PagerDutyTargetTest, ResolvesWithTheSameDedupKeyAndOnlyTheStoppedAlert) {
  auto notifier = make_notifier();
  notify_and_settle(*notifier,
                    monitor({alert("ConsumerLagHigh", Severity::kHigh),
                             alert("SourceUnreachable", Severity::kCritical)}),
                    target());
  clock_.advance(10s);
  notify_and_settle(*notifier, monitor({alert("SourceUnreachable", Severity::kCritical)}),
                    target());
  ASSERT_EQ(events().size(), 3u);
  EXPECT_EQ(notifier->stats().delivered, 3u);
  const auto resolve = events()[2];
  EXPECT_EQ(resolve["event_action"], "resolve");
  std::string lag_key;
  for (const auto& event : events()) {
    if (event.contains("payload") && event["payload"]["class"] == "ConsumerLagHigh") {
      lag_key = event["dedup_key"];
    }
  }
  EXPECT_EQ(resolve["dedup_key"], lag_key);
  EXPECT_EQ(resolve["routing_key"], kRoutingKey);
  EXPECT_FALSE(resolve.contains("payload"));

  clock_.advance(10s);  // nothing changed: nothing sent
  notify_and_settle(*notifier, monitor({alert("SourceUnreachable", Severity::kCritical)}),
                    target());
  EXPECT_EQ(events().size(), 3u);
}

TEST_F(PagerDutyTargetTest, ARestartedOperatorTriggersTheSameDedupKey) {
  std::string before;
  {
    auto notifier = make_notifier();
    notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh", Severity::kHigh)}), target());
    ASSERT_EQ(events().size(), 1u);
    before = events()[0]["dedup_key"];
  }
  auto notifier = make_notifier();  // a new process (or another replica): nothing in memory
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh", Severity::kHigh)}), target());
  ASSERT_EQ(events().size(), 2u);
  // PagerDuty adds a trigger with an open incident's dedup_key to that incident: no new page.
  EXPECT_EQ(events()[1]["dedup_key"], before);
  EXPECT_EQ(events()[1]["payload"]["timestamp"], format_rfc3339(t0_));
}

TEST_F(PagerDutyTargetTest, SendResolvedFalseAndMinSeverityAreHonoured) {
  auto notifier = make_notifier();
  auto pd = target();
  pd.send_resolved = false;
  pd.min_severity = Severity::kHigh;
  notify_and_settle(*notifier,
                    monitor({alert("ConsumerLagHigh", Severity::kMedium),
                             alert("SourceUnreachable", Severity::kCritical)}),
                    pd);
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0]["payload"]["class"], "SourceUnreachable");
  notify_and_settle(*notifier, monitor({}), pd);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(PagerDutyTargetTest, SeveritiesMapToPagerDutysFour) {
  EXPECT_EQ(pagerduty_severity(Severity::kCritical), "critical");
  EXPECT_EQ(pagerduty_severity(Severity::kHigh), "error");
  EXPECT_EQ(pagerduty_severity(Severity::kMedium), "warning");
  EXPECT_EQ(pagerduty_severity(Severity::kLow), "info");
  EXPECT_EQ(pagerduty_severity(Severity::kInfo), "info");
}

TEST_F(PagerDutyTargetTest, TheSchemaCheckerRefusesABrokenEvent) {
  // The checker is what the other tests rely on: it must fail on what PagerDuty refuses.
  HttpRequestRecord request;
  request.method = "POST";
  request.target = "/v2/enqueue";
  request.headers["content-type"] = "application/json";
  request.body = R"({"routing_key":"short","event_action":"trigger",)"
                 R"("payload":{"summary":"","severity":"high"}})";
  EXPECT_THAT(schema_problems(request),
              ElementsAre("routing_key must be a 32-character integration key",
                          "payload.summary must be 1-1024 characters", "payload.source is required",
                          "payload.severity must be critical, error, warning or info"));
}

TEST(PagerDutySpecTest, RoutingKeyComesFromItsSecret) {
  nlohmann::json spec{
      {"pagerduty",
       {{{"name", "pd"}, {"routingKeySecretRef", {{"name", "pd-key"}}}, {"minSeverity", "high"}}}}};
  EXPECT_EQ(notification_secret_names(spec), std::vector<std::string>{"pd-key"});
  auto parsed =
      parse_notifications(spec, [](const SecretKeyRef& ref) -> std::optional<std::string> {
        if (ref.name == "pd-key" && ref.key == "routingKey") return kRoutingKey + "\n";
        return std::nullopt;
      });
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->receivers.pagerduty.size(), 1u);
  EXPECT_EQ(parsed->receivers.pagerduty[0].routing_key, kRoutingKey);
  EXPECT_EQ(parsed->receivers.pagerduty[0].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(parsed->receivers.pagerduty[0].min_severity, Severity::kHigh);

  auto missing = parse_notifications(spec, [](const SecretKeyRef&) { return std::nullopt; });
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->receivers.pagerduty.empty());
  ASSERT_EQ(missing->errors.size(), 1u);
  EXPECT_EQ(missing->errors[0].message,
            "spec.notifications.pagerduty[pd].routingKeySecretRef: Secret pd-key has no key "
            "routingKey");
}

TEST(NotificationSpecTest, AlertmanagerTargetsAreCheckedAndNamesAreUniqueAcrossKinds) {
  auto parse = [](const std::string& text) {
    return parse_notifications(nlohmann::json::parse(text),
                               [](const SecretKeyRef&) { return std::nullopt; });
  };
  auto good = parse(R"({"alertmanagers":[{"name":"am","urls":["http://a:9093/","http://b:9093"],
                        "resendIntervalSeconds":30,"minSeverity":"medium"}]})");
  ASSERT_TRUE(good.ok()) << good.error().message;
  ASSERT_EQ(good->receivers.alertmanagers.size(), 1u);
  EXPECT_THAT(good->receivers.alertmanagers[0].urls,
              ElementsAre("http://a:9093/", "http://b:9093"));
  EXPECT_EQ(good->receivers.alertmanagers[0].resend_interval, 30s);
  EXPECT_EQ(good->receivers.size(), 1u);

  auto no_urls = parse(R"({"alertmanagers":[{"name":"am","urls":[]}]})");
  ASSERT_FALSE(no_urls.ok());
  EXPECT_EQ(no_urls.error().message,
            "spec.notifications.alertmanagers[0].urls: required: 1 to 5 Alertmanager URLs");
  auto bad_url = parse(R"({"alertmanagers":[{"name":"am","urls":["alertmanager:9093"]}]})");
  ASSERT_FALSE(bad_url.ok());
  EXPECT_THAT(bad_url.error().message, HasSubstr("alertmanagers[0].urls[0]: must be an http"));
  auto with_password = parse(R"({"alertmanagers":[{"name":"am","urls":["http://u:p@a:9093"]}]})");
  ASSERT_FALSE(with_password.ok());
  EXPECT_EQ(with_password.error().message,
            "spec.notifications.alertmanagers[0].urls[0]: must not carry credentials (user@host): "
            "use authSecretRef");
  EXPECT_THAT(with_password.error().message, ::testing::Not(HasSubstr("u:p")));
  auto clash = parse(R"({"webhooks":[{"name":"oncall","urlSecretRef":{"name":"w"}}],
                         "alertmanagers":[{"name":"oncall","urls":["http://a:9093"]}]})");
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().message,
            "spec.notifications.alertmanagers[0].name: duplicate notification receiver name "
            "\"oncall\"");
  auto no_auth = parse(R"({"alertmanagers":[{"name":"am","urls":["http://a:9093"],
                           "authSecretRef":{"name":"am-auth"}}]})");
  ASSERT_TRUE(no_auth.ok());
  EXPECT_TRUE(no_auth->receivers.alertmanagers.empty());
  ASSERT_EQ(no_auth->errors.size(), 1u);
  EXPECT_EQ(no_auth->errors[0].message,
            "spec.notifications.alertmanagers[am].authSecretRef: Secret am-auth has none of the "
            "keys token, username/password or ca.crt");
}

TEST(NotificationSpecTest, BearerTokenBecomesTheAuthorizationHeader) {
  auto parsed = parse_notifications(
      nlohmann::json::parse(
          R"({"alertmanagers":[{"name":"am","urls":["https://a:9093"],"authSecretRef":{"name":"s"}}]})"),
      [](const SecretKeyRef& ref) -> std::optional<std::string> {
        if (ref.key == "token") return std::string("t0k3n\n");
        return std::nullopt;
      });
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->receivers.alertmanagers.size(), 1u);
  EXPECT_EQ(parsed->receivers.alertmanagers[0].credentials.authorization, "Bearer t0k3n");
  EXPECT_TRUE(parsed->receivers.alertmanagers[0].credentials.ca_pem.empty());
}

}  // namespace
}  // namespace lagpilot::notify
