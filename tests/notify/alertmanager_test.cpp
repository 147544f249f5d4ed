// The alertmanagers notification target against Debian's real prometheus-alertmanager 0.25 on
// loopback: lagpilot pushes alerts to POST /api/v2/alerts the way Prometheus does, Alertmanager
// routes them (silences, grouping) to a webhook receiver (a TestHttpServer). Notifier time
// (resend interval, endsAt, backoff) runs on a FakeClock started at the real time, since
// Alertmanager compares endsAt with its own clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "notify/webhook_notifier.h"
#include "notify/webhook_spec.h"
#include "tests/notify/alertmanager_fixture.h"
#include "tests/notify/test_http_server.h"

namespace lagpilot::notify {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
using testkit::AlertmanagerServer;
using testkit::HttpRequestRecord;
using testkit::TestHttpServer;

constexpr auto kWait = 20s;  // upper bound for real-time waits on Alertmanager

// Polls `condition` (real time, for a real server's state) until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);  // polling a real server
  }
  return condition();
}

// The fake clock starts 10 s behind the real one: a resolved alert's endsAt (the fake now) must
// be in Alertmanager's past, as it is in production by the time the request arrives.
WallTime real_now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) - 10s;
}

// The alertnames of every alert with `status` in the Alertmanager webhook notifications received.
std::vector<std::string> notified(const TestHttpServer& receiver, const std::string& status) {
  std::vector<std::string> names;
  for (const auto& request : receiver.requests()) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) continue;
    for (const auto& alert : body["alerts"]) {
      if (alert.value("status", "") == status) names.push_back(alert["labels"]["alertname"]);
    }
  }
  return names;
}

class AlertmanagerTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alertmanager_ = std::make_unique<AlertmanagerServer>(
        AlertmanagerServer::Options{receiver_.url("/alerts"), "", false, {}});
  }

  std::unique_ptr<WebhookNotifier> make_notifier(int max_attempts = 6) {
    WebhookNotifierOptions options;
    options.workers = 2;
    options.request_timeout = 5s;
    options.max_attempts = max_attempts;
    return std::make_unique<WebhookNotifier>(clock_, make_cpprest_http_sender(), options);
  }

  AlertmanagerTarget target(std::vector<std::string> urls) {
    AlertmanagerTarget out;
    out.name = "team-alertmanager";
    out.urls = std::move(urls);
    out.monitor_url =
        "https://grafana.example.com/d/lagpilot?var-namespace={namespace}&var-name={name}";
    return out;
  }

  MonitorAlerts monitor(std::vector<Alert> firing, const std::string& name = "orders") {
    MonitorAlerts out;
    out.monitor = {"shop", name};
    out.labels = {{"topic", "orders"}};
    out.firing = std::move(firing);
    return out;
  }

  Alert alert(const std::string& name, Severity severity = Severity::kHigh) {
    Alert out;
    out.name = name;
    out.severity = severity;
    out.summary = name + ": consumer lag 48200 > 1000";
    out.value = 48200;
    out.since = since_;
    return out;
  }

  void notify_and_settle(WebhookNotifier& notifier, const MonitorAlerts& alerts,
                         const AlertmanagerTarget& target) {
    notifier.notify(alerts, Receivers{{}, {target}, {}});
    // A failed attempt waits for its backoff on the fake clock: move it there.
    for (int i = 0; i < 20; ++i) {
      if (notifier.wait_idle(1s)) return;
      auto next = notifier.stats().next_attempt_at;
      if (next && *next > clock_.now()) clock_.advance(*next - clock_.now());
    }
    FAIL() << "the notifier did not become idle";
  }

  FakeClock clock_{real_now_seconds()};
  const WallTime since_ = clock_.now() - 5min;
  TestHttpServer receiver_;  // Alertmanager's webhook receiver
  std::unique_ptr<AlertmanagerServer> alertmanager_;
};

TEST_F(AlertmanagerTargetTest, AFiringAlertAppearsWithItsLabelsAndAnnotations) {
  auto notifier = make_notifier();
  auto lag = alert("ConsumerLagHigh");
  lag.labels = {{"team", "payments"}, {"runbook_url", "https://runbooks.example.com/lag"}};
  notify_and_settle(*notifier, monitor({lag}), target({alertmanager_->url()}));
  EXPECT_EQ(notifier->stats().delivered, 1u);

  auto sent = alertmanager_->alert_named("ConsumerLagHigh");
  ASSERT_TRUE(sent) << alertmanager_->log();
  EXPECT_EQ((*sent)["labels"],
            (nlohmann::json{{"alertname", "ConsumerLagHigh"},
                            {"severity", "high"},
                            {"namespace", "shop"},
                            {"queuemonitor", "orders"},
                            {"topic", "orders"},
                            {"team", "payments"},
                            {"runbook_url", "https://runbooks.example.com/lag"}}));
  const auto& annotations = (*sent)["annotations"];
  EXPECT_EQ(annotations["summary"], "ConsumerLagHigh: consumer lag 48200 > 1000");
  EXPECT_EQ(annotations["runbook_url"], "https://runbooks.example.com/lag");
  EXPECT_EQ(annotations["monitor_url"],
            "https://grafana.example.com/d/lagpilot?var-namespace=shop&var-name=orders");
  EXPECT_EQ((*sent)["status"]["state"], "active");
  EXPECT_EQ(parse_rfc3339((*sent)["startsAt"]), since_);
  // endsAt: 4 x the 60 s resend interval from when it was sent.
  auto ends_at = parse_rfc3339((*sent)["endsAt"]);
  ASSERT_TRUE(ends_at);
  EXPECT_EQ(*ends_at - clock_.now(), 240s);
  EXPECT_EQ((*sent)["generatorURL"],
            "https://grafana.example.com/d/lagpilot?var-namespace=shop&var-name=orders");

  // Alertmanager routes it to its own receivers.
  ASSERT_TRUE(eventually([&] { return !notified(receiver_, "firing").empty(); }));
  EXPECT_THAT(notified(receiver_, "firing"), Contains("ConsumerLagHigh"));
}

TEST_F(AlertmanagerTargetTest, AFiringAlertIsResentBeforeItsEndsAtLapses) {
  auto notifier = make_notifier();
  const auto am = target({alertmanager_->url()});
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  auto first = parse_rfc3339((*alertmanager_->alert_named("ConsumerLagHigh"))["endsAt"]);

  clock_.advance(30s);  // within the resend interval: nothing sent
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  EXPECT_EQ(notifier->stats().delivered, 1u);

  clock_.advance(31s);  // 61 s after the first: re-sent, endsAt moves on
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  EXPECT_EQ(notifier->stats().delivered, 2u);
  auto second = parse_rfc3339((*alertmanager_->alert_named("ConsumerLagHigh"))["endsAt"]);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*second - *first, 61s);
}

TEST_F(AlertmanagerTargetTest, EndsAtCoversASlowPollInterval) {
  auto notifier = make_notifier();
  const auto am = target({alertmanager_->url()});
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  clock_.advance(300s);  // a 5-minute poll interval: endsAt = 4 x 300 s
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  auto ends_at = parse_rfc3339((*alertmanager_->alert_named("ConsumerLagHigh"))["endsAt"]);
  ASSERT_TRUE(ends_at);
  EXPECT_EQ(*ends_at - clock_.now(), 1200s);
}

TEST_F(AlertmanagerTargetTest, ASilenceCreatedThroughItsApiSilencesTheAlert) {
  const std::string silence = alertmanager_->silence(
      "ConsumerGroupEmpty", format_rfc3339(clock_.now() - 1min), format_rfc3339(clock_.now() + 1h));
  ASSERT_FALSE(silence.empty()) << alertmanager_->log();

  auto notifier = make_notifier();
  // One group (namespace, queuemonitor): the notification that reaches the webhook receiver has
  // the unsilenced alert and not the silenced one.
  notify_and_settle(
      *notifier,
      monitor({alert("ConsumerGroupEmpty"), alert("ConsumerLagHigh", Severity::kMedium)}),
      target({alertmanager_->url()}));
  std::optional<nlohmann::json> silenced;
  ASSERT_TRUE(eventually([&] {
    silenced = alertmanager_->alert_named("ConsumerGroupEmpty");
    return silenced && (*silenced)["status"]["state"] == "suppressed";
  })) << (silenced ? silenced->dump() : "not there");
  EXPECT_EQ((*silenced)["status"]["silencedBy"], nlohmann::json::array({silence}));

  ASSERT_TRUE(eventually([&] { return !notified(receiver_, "firing").empty(); }));
  EXPECT_THAT(notified(receiver_, "firing"), Contains("ConsumerLagHigh"));
  EXPECT_THAT(notified(receiver_, "firing"), ::testing::Not(Contains("ConsumerGroupEmpty")));
}

TEST_F(AlertmanagerTargetTest, AResolvedAlertIsSentWithEndsAtNow) {
  auto notifier = make_notifier();
  const auto am = target({alertmanager_->url()});
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  ASSERT_TRUE(eventually([&] { return !notified(receiver_, "firing").empty(); }));

  clock_.advance(1s);
  notify_and_settle(*notifier, monitor({}), am);
  EXPECT_EQ(notifier->stats().delivered, 2u);
  // Alertmanager no longer lists it as active and tells its receiver it resolved.
  EXPECT_TRUE(eventually([&] {
    auto all = alertmanager_->alerts();
    return all && all->empty();
  }));
  EXPECT_TRUE(eventually([&] { return !notified(receiver_, "resolved").empty(); }));
  EXPECT_THAT(notified(receiver_, "resolved"), Contains("ConsumerLagHigh"));
}

TEST_F(AlertmanagerTargetTest, AnAlertmanagerThatIsDownGetsTheAlertOnceItIsBack) {
  auto notifier = make_notifier(/*max_attempts=*/1);
  const auto am = target({alertmanager_->url()});
  alertmanager_->stop();
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  EXPECT_EQ(notifier->stats().delivered, 0u);
  EXPECT_EQ(notifier->stats().gave_up, 1u);

  alertmanager_->restart();
  clock_.advance(61s);  // past the pause after giving up
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  EXPECT_EQ(notifier->stats().delivered, 1u);
  auto sent = alertmanager_->alert_named("ConsumerLagHigh");
  ASSERT_TRUE(sent) << "the alert was lost";
  EXPECT_EQ(parse_rfc3339((*sent)["startsAt"]), since_);
}

TEST_F(AlertmanagerTargetTest, AnAlertmanagerThatRestartedEmptyGetsTheAlertAtTheNextResend) {
  auto notifier = make_notifier();
  const auto am = target({alertmanager_->url()});
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  alertmanager_->restart();  // Alertmanager keeps silences on disk, not alerts
  ASSERT_FALSE(alertmanager_->alert_named("ConsumerLagHigh"));
  // The first request goes out on the connection kept from before the restart and fails
  // ("Failed to write request body"); it is retried after its backoff on a new one.

  clock_.advance(60s);
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), am);
  auto sent = alertmanager_->alert_named("ConsumerLagHigh");
  ASSERT_TRUE(sent) << "the alert was lost";
  EXPECT_EQ(parse_rfc3339((*sent)["startsAt"]), since_);
}

TEST_F(AlertmanagerTargetTest, ARestartedOperatorResendsTheSameAlertWithoutANewNotification) {
  // Before the restart: fired, delivered, Alertmanager notified its receiver once.
  {
    auto notifier = make_notifier();
    notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}),
                      target({alertmanager_->url()}));
    ASSERT_TRUE(eventually([&] { return notified(receiver_, "firing").size() == 1; }));
  }
  // A new operator process: empty notifier state; the alert tracker restored firing-since from
  // status.alerts[].since, so the alert is the same one.
  auto notifier = make_notifier();
  notify_and_settle(*notifier, monitor({alert("ConsumerLagHigh")}), target({alertmanager_->url()}));
  auto sent = alertmanager_->alert_named("ConsumerLagHigh");
  ASSERT_TRUE(sent);
  EXPECT_EQ(parse_rfc3339((*sent)["startsAt"]), since_);
  ASSERT_EQ(alertmanager_->alerts()->size(), 1u);

  // Another monitor's alert, sent after the re-send: once its notification is in, the first
  // group has had its group_interval ticks and must not have been announced again.
  notify_and_settle(*notifier, monitor({alert("SourceUnreachable")}, "payments"),
                    target({alertmanager_->url()}));
  ASSERT_TRUE(eventually([&] {
    auto firing = notified(receiver_, "firing");
    return std::find(firing.begin(), firing.end(), "SourceUnreachable") != firing.end();
  }));
  auto firing = notified(receiver_, "firing");
  EXPECT_EQ(std::count(firing.begin(), firing.end(), std::string("ConsumerLagHigh")), 1)
      << "Alertmanager announced the re-sent alert again";
}

// An HA pair (gossiping peers): lagpilot sends to both, as Prometheus does (peers do not share
// alerts); one that is down delays nothing and gets the alert once it is back.
TEST(AlertmanagerHaPairTest, BothGetTheAlertAndOneThatIsDownGetsItWhenBack) {
  TestHttpServer receiver;
  AlertmanagerServer first({receiver.url("/alerts"), "", true, {}});
  AlertmanagerServer second({receiver.url("/alerts"), "", true, {first.cluster_address()}});
  FakeClock clock{real_now_seconds()};
  WebhookNotifierOptions options;
  options.workers = 2;
  options.request_timeout = 5s;
  options.max_attempts = 1;
  WebhookNotifier notifier(clock, make_cpprest_http_sender(), options);
  AlertmanagerTarget pair;
  pair.name = "ha";
  pair.urls = {first.url(), second.url()};
  MonitorAlerts alerts;
  alerts.monitor = {"shop", "orders"};
  Alert lag;
  lag.name = "ConsumerLagHigh";
  lag.summary = "lag";
  lag.since = clock.now() - 1min;
  alerts.firing = {lag};

  second.stop();
  notifier.notify(alerts, Receivers{{}, {pair}, {}});
  ASSERT_TRUE(notifier.wait_idle(kWait));
  EXPECT_EQ(notifier.stats().delivered, 1u);
  EXPECT_EQ(notifier.stats().gave_up, 1u);
  EXPECT_TRUE(first.alert_named("ConsumerLagHigh")) << "the one that is up must not wait";

  second.restart();
  clock.advance(61s);
  notifier.notify(alerts, Receivers{{}, {pair}, {}});
  ASSERT_TRUE(notifier.wait_idle(kWait));
  // Peers gossip silences and the notification log, not alerts: only lagpilot's send brings it.
  auto sent = second.alert_named("ConsumerLagHigh");
  ASSERT_TRUE(sent) << second.log();
  EXPECT_EQ(parse_rfc3339((*sent)["startsAt"]), lag.since);
  EXPECT_EQ(notifier.stats().delivered, 3u);  // first again (resend due) and second
}

// HTTPS with a private CA and basic auth (Alertmanager's --web.config.file), credentials from a
// Secret's keys username, password and ca.crt.
class AlertmanagerTlsTest : public ::testing::Test {
 protected:
  // bcrypt of kPassword (cost 5), for basic_auth_users (as in the Prometheus TLS tests).
  static constexpr const char* kPassword = "lagpilot-test-password";
  static constexpr const char* kPasswordHash =
      "$2b$05$abcdefghijklmnopqrstuuHl.8y0uCKlzOUDuT4sF6iuAWRAE.A.G";

  void SetUp() override {
    const std::string dir = certs_.path().string();
    std::ofstream(certs_ / "san.ext") << "subjectAltName=IP:127.0.0.1\n";
    const std::string script =
        "cd " + dir + " && " +
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj '/CN=lagpilot test CA' -keyout ca.key -out ca.crt && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj '/CN=127.0.0.1' -keyout server.key -out server.csr && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.crt";
    ASSERT_EQ(std::system(("(" + script + ") >" + dir + "/openssl.log 2>&1").c_str()), 0)
        << "openssl failed, see " << dir << "/openssl.log";
    ca_pem_ = testkit::read_text_file(certs_ / "ca.crt");
    alertmanager_ = std::make_unique<AlertmanagerServer>(AlertmanagerServer::Options{
        receiver_.url("/alerts"),
        "tls_server_config:\n  cert_file: " + dir + "/server.crt\n  key_file: " + dir +
            "/server.key\nbasic_auth_users:\n  lagpilot: " + kPasswordHash + "\n",
        false,
        {}});
  }

  Result<int> post(const HttpCredentials& credentials) {
    WebhookRequest request;
    request.url = alertmanager_->url() + "/api/v2/alerts";
    request.body = "[]";
    request.authorization = credentials.authorization;
    request.ca_pem = credentials.ca_pem;
    return make_cpprest_http_sender()->post(request, {});
  }

  testkit::TemporaryDirectory certs_{"/tmp/lagpilot-am-tls-"};
  std::string ca_pem_;
  TestHttpServer receiver_;
  std::unique_ptr<AlertmanagerServer> alertmanager_;
};

TEST_F(AlertmanagerTlsTest, DeliversOverVerifiedTlsWithBasicAuth) {
  ASSERT_THAT(alertmanager_->url(), HasSubstr("https://"));
  const std::string basic = "Basic " + std::string("bGFncGlsb3Q6bGFncGlsb3QtdGVzdC1wYXNzd29yZA==");
  auto answered = post({basic, ca_pem_});
  ASSERT_TRUE(answered.ok()) << answered.error().message;
  EXPECT_EQ(*answered, 200);
  EXPECT_EQ(*post({"Basic bGFncGlsb3Q6d3Jvbmc=", ca_pem_}), 401);  // lagpilot:wrong
  auto untrusted = post({basic, ""});  // system roots only: the private CA is unknown
  EXPECT_FALSE(untrusted.ok()) << "TLS was not verified";

  // Through spec.notifications and its Secret, as the controller builds the target.
  const std::map<std::string, std::string> secret{
      {"username", "lagpilot"}, {"password", kPassword}, {"ca.crt", ca_pem_}};
  auto parsed = parse_notifications(nlohmann::json{{"alertmanagers",
                                                    {{{"name", "secure"},
                                                      {"urls", {alertmanager_->url()}},
                                                      {"authSecretRef", {{"name", "am-auth"}}}}}}},
                                    [&](const SecretKeyRef& ref) -> std::optional<std::string> {
                                      auto value = secret.find(ref.key);
                                      if (ref.name != "am-auth" || value == secret.end())
                                        return std::nullopt;
                                      return value->second;
                                    });
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->errors.empty()) << parsed->errors.front().message;
  ASSERT_EQ(parsed->receivers.alertmanagers.size(), 1u);
  EXPECT_EQ(parsed->receivers.alertmanagers[0].credentials.authorization, basic);

  FakeClock clock{real_now_seconds()};
  WebhookNotifier notifier(clock, make_cpprest_http_sender());
  MonitorAlerts alerts;
  alerts.monitor = {"shop", "orders"};
  Alert lag;
  lag.name = "ConsumerLagHigh";
  lag.since = clock.now();
  alerts.firing = {lag};
  notifier.notify(alerts, parsed->receivers);
  ASSERT_TRUE(notifier.wait_idle(kWait));
  EXPECT_EQ(notifier.stats().delivered, 1u);
  ASSERT_TRUE(eventually([&] { return !notified(receiver_, "firing").empty(); }));
}

}  // namespace
}  // namespace lagpilot::notify
