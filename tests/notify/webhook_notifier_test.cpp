// WebhookNotifier against real HTTP receivers on loopback (TestHttpServer), through the real
// cpprestsdk sender; time (repeat interval, backoff) through a FakeClock.
#include "notify/webhook_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "tests/notify/test_http_server.h"

namespace lagpilot::notify {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testkit::HttpReply;
using testkit::HttpRequestRecord;
using testkit::TestHttpServer;

constexpr auto kWait = 10s;  // upper bound for real-time waits; normally milliseconds

Alert alert(const std::string& name, Severity severity, WallTime since) {
  Alert out;
  out.name = name;
  out.severity = severity;
  out.summary = name + " summary";
  out.value = 42;
  out.since = since;
  return out;
}

nlohmann::json body_of(const HttpRequestRecord& request) {
  return nlohmann::json::parse(request.body);
}

std::vector<std::string> alert_names(const nlohmann::json& body, const std::string& status) {
  std::vector<std::string> names;
  for (const auto& item : body["alerts"]) {
    if (item["status"] == status) names.push_back(item["labels"]["alertname"]);
  }
  return names;
}

class WebhookNotifierTest : public ::testing::Test {
 protected:
  WebhookNotifierOptions fast_options() {
    WebhookNotifierOptions options;
    options.workers = 2;
    options.request_timeout = 5s;
    options.external_url = "http://lagpilot.test";
    return options;
  }

  std::unique_ptr<WebhookNotifier> make(WebhookNotifierOptions options) {
    return std::make_unique<WebhookNotifier>(clock_, make_cpprest_http_sender(), options);
  }

  WebhookReceiver receiver(const TestHttpServer& server, const std::string& name = "oncall") {
    WebhookReceiver out;
    out.name = name;
    out.url = server.url("/hook?token=s3cr3t");
    out.repeat_interval = 3600s;
    return out;
  }

  MonitorAlerts monitor(std::vector<Alert> firing, const std::string& name = "orders") {
    MonitorAlerts out;
    out.monitor = {"shop", name};
    out.labels = {{"topic", "orders"}};
    out.firing = std::move(firing);
    return out;
  }

  // Notifies and waits until the notifier has nothing queued or in flight.
  void notify_and_settle(WebhookNotifier& notifier, const MonitorAlerts& alerts,
                         const std::vector<WebhookReceiver>& receivers) {
    notifier.notify(alerts, receivers);
    ASSERT_TRUE(notifier.wait_idle(kWait));
  }

  FakeClock clock_;
  const WallTime t0_ = clock_.now();
};

TEST_F(WebhookNotifierTest, DeliversAnAlertmanagerPayloadToTheUrl) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  lag.labels = {{"team", "payments"}};
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});

  ASSERT_EQ(server.request_count(), 1u);
  auto request = server.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/hook?token=s3cr3t");
  EXPECT_THAT(request.headers["content-type"], HasSubstr("application/json"));
  auto body = body_of(request);
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["status"], "firing");
  EXPECT_EQ(body["receiver"], "oncall");
  EXPECT_EQ(body["groupLabels"]["queuemonitor"], "orders");
  EXPECT_EQ(body["externalURL"], "http://lagpilot.test");
  ASSERT_EQ(body["alerts"].size(), 1u);
  const auto& sent = body["alerts"][0];
  EXPECT_EQ(sent["labels"], (nlohmann::json{{"alertname", "HighConsumerLag"},
                                            {"severity", "high"},
                                            {"namespace", "shop"},
                                            {"queuemonitor", "orders"},
                                            {"topic", "orders"},
                                            {"team", "payments"}}));
  EXPECT_EQ(sent["annotations"]["summary"], "HighConsumerLag summary");
  EXPECT_EQ(sent["startsAt"], format_rfc3339(t0_));
  EXPECT_EQ(sent["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(sent["fingerprint"].get<std::string>().size(), 16u);
  EXPECT_EQ(notifier->stats().delivered, 1u);
}

// A restart: the new process gets the old one's last delivery (from status.webhookDeliveries) and
// neither announces the same alert again nor repeats it before the repeat interval; a new alert
// and a resolution still go out.
TEST_F(WebhookNotifierTest, RestoredDeliveriesAreNotAnnouncedAgain) {
  TestHttpServer server;
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  std::vector<WebhookDelivery> before;
  {
    auto first = make(fast_options());
    notify_and_settle(*first, monitor({lag}), {receiver(server)});
    ASSERT_EQ(server.request_count(), 1u);
    before = first->webhook_deliveries({"shop", "orders"});
  }
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].receiver, "oncall");
  EXPECT_EQ(before[0].delivered_at, t0_);
  ASSERT_EQ(before[0].firing.size(), 1u);

  clock_.advance(600s);
  auto restarted = make(fast_options());
  restarted->restore_webhook_deliveries({"shop", "orders"}, before);
  EXPECT_EQ(restarted->webhook_deliveries({"shop", "orders"}), before)
      << "kept until a notify() takes it up, so a status write in between keeps it";
  notify_and_settle(*restarted, monitor({lag}), {receiver(server)});
  EXPECT_EQ(server.request_count(), 1u) << "the same firing alert is not announced again";
  EXPECT_EQ(restarted->webhook_deliveries({"shop", "orders"}), before);

  clock_.advance(3000s);  // 3,600 s after the delivery before the restart: the repeat is due
  notify_and_settle(*restarted, monitor({lag}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 2u);
  EXPECT_EQ(alert_names(body_of(server.requests()[1]), "firing"),
            std::vector<std::string>{"HighConsumerLag"});

  clock_.advance(10s);
  notify_and_settle(*restarted, monitor({}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 3u);
  EXPECT_EQ(alert_names(body_of(server.requests()[2]), "resolved"),
            std::vector<std::string>{"HighConsumerLag"});
  EXPECT_TRUE(restarted->webhook_deliveries({"shop", "orders"}).empty())
      << "nothing firing was delivered last: nothing to keep";
}

TEST_F(WebhookNotifierTest, ARestoredDeliveryDoesNotHideANewAlert) {
  TestHttpServer server;
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  auto stall = alert("ConsumerStalled", Severity::kCritical, t0_);
  std::vector<WebhookDelivery> before;
  {
    auto first = make(fast_options());
    notify_and_settle(*first, monitor({lag}), {receiver(server)});
    before = first->webhook_deliveries({"shop", "orders"});
  }
  auto restarted = make(fast_options());
  restarted->restore_webhook_deliveries({"shop", "orders"}, before);
  restarted->restore_webhook_deliveries({"shop", "other"}, before);
  clock_.advance(30s);
  notify_and_settle(*restarted, monitor({lag, stall}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 2u);
  auto firing = alert_names(body_of(server.requests()[1]), "firing");
  std::sort(firing.begin(), firing.end());
  EXPECT_EQ(firing, (std::vector<std::string>{"ConsumerStalled", "HighConsumerLag"}));
  // A receiver no longer in the spec: its restored delivery goes with the first notify().
  restarted->notify(monitor({lag}, "other"), std::vector<WebhookReceiver>{});
  EXPECT_TRUE(restarted->webhook_deliveries({"shop", "other"}).empty());
}

TEST_F(WebhookNotifierTest, UnchangedAlertsAreNotSentAgain) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  for (int poll = 0; poll < 5; ++poll) {
    lag.value = 1000 + poll;  // the value and summary change every poll; the alert does not
    lag.summary = "lag " + std::to_string(poll);
    clock_.advance(10s);
    notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  }
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(notifier->stats().enqueued, 1u);
}

TEST_F(WebhookNotifierTest, StillFiringAlertsRepeatAfterTheRepeatInterval) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  clock_.advance(3599s);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  EXPECT_EQ(server.request_count(), 1u);
  clock_.advance(1s);
  lag.summary = "lag is now worse";
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 2u);
  auto repeat = body_of(server.requests()[1]);
  EXPECT_EQ(repeat["status"], "firing");
  EXPECT_EQ(repeat["alerts"][0]["annotations"]["summary"], "lag is now worse");
  // The interval counts from the repeat.
  clock_.advance(3599s);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(WebhookNotifierTest, ANewAlertSendsTheWholeGroup) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  auto slow = alert("SlowProcessing", Severity::kCritical, t0_ + 20s);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  clock_.advance(20s);
  notify_and_settle(*notifier, monitor({lag, slow}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 2u);
  auto body = body_of(server.requests()[1]);
  // Most severe first.
  EXPECT_EQ(alert_names(body, "firing"),
            (std::vector<std::string>{"SlowProcessing", "HighConsumerLag"}));
}

TEST_F(WebhookNotifierTest, ResolvedAlertsAreSentOnceWithTheirEndTime) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  auto slow = alert("SlowProcessing", Severity::kMedium, t0_);
  notify_and_settle(*notifier, monitor({lag, slow}), {receiver(server)});

  clock_.advance(60s);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 2u);
  auto partial = body_of(server.requests()[1]);
  EXPECT_EQ(partial["status"], "firing");
  EXPECT_EQ(alert_names(partial, "firing"), std::vector<std::string>{"HighConsumerLag"});
  EXPECT_EQ(alert_names(partial, "resolved"), std::vector<std::string>{"SlowProcessing"});
  EXPECT_EQ(partial["alerts"][1]["endsAt"], format_rfc3339(t0_ + 60s));

  clock_.advance(60s);
  notify_and_settle(*notifier, monitor({}), {receiver(server)});
  ASSERT_EQ(server.request_count(), 3u);
  auto resolved = body_of(server.requests()[2]);
  EXPECT_EQ(resolved["status"], "resolved");
  EXPECT_EQ(alert_names(resolved, "resolved"), std::vector<std::string>{"HighConsumerLag"});
  EXPECT_EQ(resolved["alerts"][0]["endsAt"], format_rfc3339(t0_ + 120s));

  // Nothing firing, nothing new: silence, also past the repeat interval.
  clock_.advance(7200s);
  notify_and_settle(*notifier, monitor({}), {receiver(server)});
  EXPECT_EQ(server.request_count(), 3u);
}

TEST_F(WebhookNotifierTest, WithoutSendResolvedResolutionsAreSilentButRefiringIsNew) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto quiet = receiver(server);
  quiet.send_resolved = false;
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  notify_and_settle(*notifier, monitor({lag}), {quiet});
  clock_.advance(30s);
  notify_and_settle(*notifier, monitor({}), {quiet});
  EXPECT_EQ(server.request_count(), 1u);
  clock_.advance(30s);
  notify_and_settle(*notifier, monitor({lag}), {quiet});
  EXPECT_EQ(server.request_count(), 2u);
}

TEST_F(WebhookNotifierTest, MinSeverityFiltersPerReceiver) {
  TestHttpServer pager;
  TestHttpServer chat;
  auto notifier = make(fast_options());
  auto pager_receiver = receiver(pager, "pager");
  pager_receiver.min_severity = Severity::kHigh;
  auto chat_receiver = receiver(chat, "chat");
  chat_receiver.format = WebhookFormat::kSlack;
  auto medium = alert("SlowProcessing", Severity::kMedium, t0_);
  auto critical = alert("NoConsumers", Severity::kCritical, t0_);

  notify_and_settle(*notifier, monitor({medium}), {pager_receiver, chat_receiver});
  EXPECT_EQ(pager.request_count(), 0u);
  ASSERT_EQ(chat.request_count(), 1u);
  auto slack = body_of(chat.requests()[0]);
  EXPECT_EQ(slack["text"], "[FIRING:1] QueueMonitor shop/orders: SlowProcessing (medium)");
  EXPECT_EQ(slack["attachments"][0]["text"], "SlowProcessing summary");

  notify_and_settle(*notifier, monitor({medium, critical}), {pager_receiver, chat_receiver});
  ASSERT_EQ(pager.request_count(), 1u);
  EXPECT_EQ(alert_names(body_of(pager.requests()[0]), "firing"),
            std::vector<std::string>{"NoConsumers"});
  EXPECT_EQ(chat.request_count(), 2u);
}

TEST_F(WebhookNotifierTest, RetriesWithExponentialBackoffUntilTheReceiverRecovers) {
  std::vector<WallTime> arrivals;  // fake time of each attempt
  std::mutex mutex;
  TestHttpServer server([&](const HttpRequestRecord&) {
    std::lock_guard lock(mutex);
    arrivals.push_back(clock_.now());
    return HttpReply{arrivals.size() <= 3 ? 500 : 200, "{}"};
  });
  auto options = fast_options();
  options.initial_backoff = 1s;
  auto notifier = make(options);
  notifier->notify(monitor({alert("HighConsumerLag", Severity::kHigh, t0_)}), {receiver(server)});
  // While the notifier waits out a backoff (nothing in flight), move fake time to the retry's
  // due time, until the fourth attempt got through.
  for (int step = 0; step < 1000 && notifier->stats().delivered == 0; ++step) {
    const auto stats = notifier->stats();
    if (stats.in_flight == 0 && stats.next_attempt_at && *stats.next_attempt_at > clock_.now())
      clock_.advance(*stats.next_attempt_at - clock_.now());
    server.wait_for_requests(server.request_count() + 1, 20ms);
  }
  ASSERT_TRUE(notifier->wait_idle(kWait));
  auto stats = notifier->stats();
  EXPECT_EQ(stats.delivered, 1u);
  EXPECT_EQ(stats.failed_attempts, 3u);
  EXPECT_EQ(stats.gave_up, 0u);
  std::lock_guard lock(mutex);
  ASSERT_EQ(arrivals.size(), 4u);
  const Duration expected[] = {1s, 2s, 4s};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(arrivals[i + 1] - arrivals[i], expected[i]) << "attempt " << i + 2;
  }
  // Delivered: later polls with the same alert stay quiet.
  notify_and_settle(*notifier, monitor({alert("HighConsumerLag", Severity::kHigh, t0_)}),
                    {receiver(server)});
  EXPECT_EQ(server.request_count(), 4u);
}

TEST_F(WebhookNotifierTest, AClientErrorIsNotRetriedUntilMaxBackoffHasPassed) {
  TestHttpServer server([](const HttpRequestRecord&) { return HttpReply{404, "no such hook"}; });
  auto options = fast_options();
  options.max_backoff = 60s;
  auto notifier = make(options);
  auto alerts = monitor({alert("HighConsumerLag", Severity::kHigh, t0_)});
  notify_and_settle(*notifier, alerts, {receiver(server)});
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(notifier->stats().gave_up, 1u);
  clock_.advance(59s);
  notify_and_settle(*notifier, alerts, {receiver(server)});
  EXPECT_EQ(server.request_count(), 1u);
  clock_.advance(1s);
  server.set_handler([](const HttpRequestRecord&) { return HttpReply{}; });
  notify_and_settle(*notifier, alerts, {receiver(server)});
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(notifier->stats().delivered, 1u);
}

TEST_F(WebhookNotifierTest, ARequestThatTimesOutIsRetried) {
  std::atomic<int> calls{0};
  TestHttpServer server([&](const HttpRequestRecord&) {
    return ++calls == 1 ? HttpReply{.hang = true} : HttpReply{};
  });
  auto options = fast_options();
  options.request_timeout = 300ms;
  auto notifier = make(options);
  const auto started = std::chrono::steady_clock::now();
  notifier->notify(monitor({alert("HighConsumerLag", Severity::kHigh, t0_)}), {receiver(server)});
  ASSERT_TRUE(server.wait_for_requests(1, kWait));
  while (notifier->stats().failed_attempts == 0 &&
         std::chrono::steady_clock::now() - started < kWait) {
    server.wait_for_requests(2, 10ms);
  }
  EXPECT_EQ(notifier->stats().failed_attempts, 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  clock_.advance(1s);  // the backoff
  ASSERT_TRUE(server.wait_for_requests(2, kWait));
  ASSERT_TRUE(notifier->wait_idle(kWait));
  EXPECT_EQ(notifier->stats().delivered, 1u);
}

TEST_F(WebhookNotifierTest, AHungReceiverDelaysNeitherCallersNorOtherReceivers) {
  TestHttpServer hung([](const HttpRequestRecord&) { return HttpReply{.hang = true}; });
  TestHttpServer healthy;
  auto options = fast_options();
  options.workers = 2;
  options.request_timeout = 60s;  // the hung receiver holds its request for the whole test
  auto notifier = make(options);
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);

  constexpr int kMonitors = 40;
  auto slowest = std::chrono::steady_clock::duration::zero();
  for (int i = 0; i < kMonitors; ++i) {
    const auto before = std::chrono::steady_clock::now();
    notifier->notify(monitor({lag}, "m" + std::to_string(i)),
                     {receiver(hung, "hung"), receiver(healthy, "healthy")});
    slowest = std::max(slowest, std::chrono::steady_clock::now() - before);
  }
  EXPECT_LT(slowest, 200ms) << "notify() must only enqueue";
  ASSERT_TRUE(healthy.wait_for_requests(kMonitors, kWait));
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (notifier->stats().delivered < kMonitors && std::chrono::steady_clock::now() < deadline) {
    healthy.wait_for_requests(kMonitors + 1, 5ms);  // the last answers are being processed
  }
  EXPECT_EQ(notifier->stats().delivered, static_cast<uint64_t>(kMonitors));
  EXPECT_EQ(hung.request_count(), 1u);  // one in flight to it; the rest wait in its queue
  auto stats = notifier->stats();
  EXPECT_EQ(stats.in_flight, 1u);
  EXPECT_EQ(stats.queued, static_cast<std::size_t>(kMonitors - 1));

  // Shutting down cancels the hung request instead of waiting out its timeout.
  const auto before = std::chrono::steady_clock::now();
  notifier.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
}

TEST_F(WebhookNotifierTest, AFullQueueDropsTheOldestAndCountsIt) {
  TestHttpServer hung([](const HttpRequestRecord&) { return HttpReply{.hang = true}; });
  auto options = fast_options();
  options.max_queue = 3;
  options.request_timeout = 60s;
  auto notifier = make(options);
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  notifier->notify(monitor({lag}, "m0"), {receiver(hung)});
  ASSERT_TRUE(hung.wait_for_requests(1, kWait));  // m0 is in flight, hung
  for (int i = 1; i < 10; ++i) {
    notifier->notify(monitor({lag}, "m" + std::to_string(i)), {receiver(hung)});
  }
  auto stats = notifier->stats();
  EXPECT_EQ(stats.enqueued, 10u);
  EXPECT_EQ(stats.in_flight, 1u);
  EXPECT_EQ(stats.queued, 3u);
  EXPECT_EQ(stats.dropped, 6u);  // m1..m6; m7, m8, m9 wait
  // A dropped group is queued again by its next notify() (and pushes out the now-oldest).
  notifier->notify(monitor({lag}, "m1"), {receiver(hung)});
  stats = notifier->stats();
  EXPECT_EQ(stats.queued, 3u);
  EXPECT_EQ(stats.dropped, 7u);
  EXPECT_EQ(stats.enqueued, 11u);
}

TEST_F(WebhookNotifierTest, ANewUrlIsToldTheCurrentStateAndRemovedReceiversAreForgotten) {
  TestHttpServer first;
  TestHttpServer second;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  notify_and_settle(*notifier, monitor({lag}), {receiver(first)});
  // The Secret now holds another URL for the same receiver.
  notify_and_settle(*notifier, monitor({lag}), {receiver(second)});
  EXPECT_EQ(first.request_count(), 1u);
  ASSERT_EQ(second.request_count(), 1u);
  EXPECT_EQ(body_of(second.requests()[0])["status"], "firing");
  // The receiver is removed from the spec, then comes back: it starts from scratch.
  notify_and_settle(*notifier, monitor({}), {});
  EXPECT_EQ(second.request_count(), 1u);
  notify_and_settle(*notifier, monitor({lag}), {receiver(second)});
  EXPECT_EQ(second.request_count(), 2u);
}

TEST_F(WebhookNotifierTest, RemovingAMonitorResolvesItsAlerts) {
  TestHttpServer server;
  auto notifier = make(fast_options());
  auto lag = alert("HighConsumerLag", Severity::kHigh, t0_);
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  clock_.advance(5s);
  notifier->remove_monitor({"shop", "orders"});
  ASSERT_TRUE(notifier->wait_idle(kWait));
  ASSERT_EQ(server.request_count(), 2u);
  auto body = body_of(server.requests()[1]);
  EXPECT_EQ(body["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["endsAt"], format_rfc3339(t0_ + 5s));
  // Forgotten: a monitor of the same name starts over.
  notify_and_settle(*notifier, monitor({lag}), {receiver(server)});
  EXPECT_EQ(server.request_count(), 3u);
}

TEST_F(WebhookNotifierTest, AnUnreachableReceiverFailsWithoutLeakingTheUrl) {
  int closed_port = 0;
  {
    TestHttpServer gone;
    closed_port = gone.port();
  }
  auto options = fast_options();
  options.max_attempts = 1;
  auto notifier = make(options);
  WebhookReceiver dead;
  dead.name = "dead";
  dead.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/hook?token=s3cr3t";
  notify_and_settle(*notifier, monitor({alert("HighConsumerLag", Severity::kHigh, t0_)}), {dead});
  EXPECT_EQ(notifier->stats().gave_up, 1u);

  auto sender = make_cpprest_http_sender();
  WebhookRequest request;
  request.url = dead.url;
  request.body = "{}";
  request.timeout = 2000ms;
  auto result = sender->post(request, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "WebhookUnreachable");
  EXPECT_THAT(result.error().message, ::testing::Not(HasSubstr("s3cr3t")));
}

}  // namespace
}  // namespace lagpilot::notify
