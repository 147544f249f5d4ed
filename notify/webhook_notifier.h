#pragma once
// Delivery of alert notifications to every receiver kind of spec.notifications, Alertmanager-style:
// - grouped: one notification per (monitor, receiver) carries all of the monitor's firing alerts
//   (and the ones resolved since the receiver was last told, when it wants resolved ones);
// - de-duplicated: nothing is sent while the set of firing alerts is unchanged, until the
//   receiver's repeat interval has passed since its last delivered notification;
// - a group has at most one notification outstanding; a newer state replaces a queued one;
// - delivered by a pool of dispatcher threads with a per-request timeout, at most
//   max_in_flight_per_destination requests per URL at a time, so one hung receiver holds at most
//   that many threads and other receivers keep being served;
// - failures (transport, timeout, 408, 429, 5xx) are retried with exponential backoff (by the
//   injected Clock); after max_attempts, or on another 4xx, the group is retried from the next
//   notify() after max_backoff;
// - the queue is bounded: when full, the oldest queued notification is dropped and counted, and
//   its group is sent again from the next notify().
// Receiver kinds:
// - webhooks: one group per (monitor, webhook), the Alertmanager webhook or Slack payload;
// - alertmanagers: one group per (monitor, target, URL): POST /api/v2/alerts of all firing alerts
//   (endsAt = now + 4 x max(resend interval, the monitor's poll interval, as measured between its
//   notify() calls)) and the newly resolved ones, again every resend interval; URLs of an HA pair
//   are delivered to independently, so one that is down delays nothing;
// - pagerduty: one group per (monitor, target, alert): a trigger, a resolve, the same dedup_key.
// State is in memory. What makes a restart or failover harmless lives in the QueueMonitor's
// status: an alert's startsAt is its firing-since time (status.alerts[].since, restored by the
// alert tracker), so the next replica re-sends the same alert to Alertmanager (which merges it
// with the one it has: same labels, same startsAt) and to PagerDuty (same dedup_key: the open
// incident, no new one). A webhook receiver's last delivery (when, which alerts) is kept in
// status.webhookDeliveries by the controller and restored, so the same firing alerts are not
// announced again.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "notify/http_sender.h"
#include "notify/notifier.h"
#include "notify/payload.h"
#include "util/clock.h"

namespace lagpilot::notify {

struct WebhookNotifierOptions {
  int workers = 4;                        // dispatcher threads
  std::size_t max_queue = 1000;           // queued notifications, all receivers together
  int max_in_flight_per_destination = 1;  // concurrent requests to one URL
  std::chrono::milliseconds request_timeout{10'000};
  int max_attempts = 6;                                // first try included
  Duration initial_backoff = std::chrono::seconds(1);  // doubles per failed attempt
  Duration max_backoff = std::chrono::seconds(60);
  std::string external_url;  // externalURL / generatorURL in payloads; empty: none
};

struct WebhookNotifierStats {
  uint64_t enqueued = 0;         // notifications queued (a replaced queued one counts once)
  uint64_t delivered = 0;        // answered with 2xx
  uint64_t failed_attempts = 0;  // attempts that failed (each retry counts)
  uint64_t gave_up = 0;          // notifications abandoned after max_attempts or a 4xx
  uint64_t dropped = 0;          // removed from a full queue
  std::size_t queued = 0;        // waiting (including those waiting for a retry)
  std::size_t in_flight = 0;     // being sent
  std::optional<WallTime> next_attempt_at;  // the earliest not_before among the queued ones
};

class WebhookNotifier final : public Notifier {
 public:
  WebhookNotifier(Clock& clock, std::shared_ptr<HttpSender> sender,
                  WebhookNotifierOptions options = {});
  // Stops the dispatchers: in-flight requests are cancelled, queued notifications dropped.
  ~WebhookNotifier() override;
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  using Notifier::notify;
  void notify(const MonitorAlerts& alerts, const Receivers& receivers) override;
  void remove_monitor(const MonitorKey& monitor) override;
  std::vector<WebhookDelivery> webhook_deliveries(const MonitorKey& monitor) const override;
  void restore_webhook_deliveries(const MonitorKey& monitor,
                                  const std::vector<WebhookDelivery>& deliveries) override;

  WebhookNotifierStats stats() const;
  // Blocks (real time) until nothing is queued or in flight; false on timeout. For tests and a
  // graceful shutdown.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  struct GroupKey {
    MonitorKey monitor;
    std::string receiver;
    std::string part;  // alertmanagers: the URL; pagerduty: the alert's fingerprint; else ""
    auto operator<=>(const GroupKey&) const = default;
  };
  enum class Kind { kWebhook, kAlertmanager, kPagerDuty };
  // Where and how a group is delivered.
  struct Route {
    Kind kind = Kind::kWebhook;
    std::string url;  // the request URL (webhook URL, .../api/v2/alerts, the events endpoint)
    WebhookFormat format = WebhookFormat::kAlertmanager;
    HttpCredentials credentials;
    std::string routing_key;  // pagerduty
    Duration repeat_interval = std::chrono::hours(4);
    bool send_resolved = true;
    bool same_destination(const Route& other) const {
      return kind == other.kind && url == other.url && format == other.format &&
             credentials == other.credentials && routing_key == other.routing_key;
    }
  };
  // What one notify() wants a group to know.
  struct Wanted {
    Route route;
    std::map<std::string, AlertRecord> latest;
  };
  struct Job {
    uint64_t seq = 0;  // enqueue order; the oldest is dropped first
    GroupKey group;
    uint64_t generation = 0;  // of the group when built; stale results are ignored
    std::string destination;  // URL
    HttpCredentials credentials;
    Notification notification;
    std::string body;
    std::string content_type;
    int attempts = 0;
    WallTime not_before;
  };
  struct Group {
    Route receiver;
    Duration ends_after{0};  // alertmanagers: endsAt of a firing alert, from its sending
    uint64_t generation = 0;
    std::map<std::string, AlertRecord> latest;     // firing now (after minSeverity), by fingerprint
    std::map<std::string, AlertRecord> delivered;  // firing as of the last delivered notification
    // No longer firing (ends_at = when notify() first missed them); those the receiver was told
    // about are sent as resolved.
    std::map<std::string, AlertRecord> gone;
    std::optional<WallTime> last_delivered;
    std::optional<WallTime> retry_after;  // after giving up: not before this
    std::optional<uint64_t> queued_seq;   // its job in the queue
    bool in_flight = false;
    bool removing = false;  // monitor deleted: forget once nothing is outstanding
  };
  struct Destination {
    std::deque<Job> queue;
    int in_flight = 0;
  };

  void apply(const GroupKey& key, Wanted wanted, WallTime now);
  void adopt_restored_delivery(Group& group, const GroupKey& key);
  void forget_restored(const MonitorKey& monitor);
  void update_group(Group& group, const GroupKey& key, WallTime now);
  void enqueue(Group& group, const GroupKey& key, Notification notification);
  void unqueue(Group& group);
  void drop_oldest();
  void erase_group_if_done(const GroupKey& key);
  void finish(Job job, const Result<int>& outcome);
  void run(std::stop_token stop);
  std::optional<Job> take_ready_job(WallTime now, WallTime& next_wake);

  Clock& clock_;
  std::shared_ptr<HttpSender> sender_;
  WebhookNotifierOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;  // work queued or finished, or stopping
  uint64_t version_ = 0;             // bumped with every notify_all on changed_
  bool stopping_ = false;
  uint64_t next_seq_ = 1;
  std::map<GroupKey, Group> groups_;
  // restore_webhook_deliveries() not yet taken up by a webhook group, by (monitor, receiver, "").
  std::map<GroupKey, WebhookDelivery> restored_;
  // Per monitor: the last notify() and the interval before it (the poll interval, as seen).
  struct Cadence {
    WallTime last;
    Duration interval{0};
  };
  std::map<MonitorKey, Cadence> cadence_;
  std::map<std::string, Destination> destinations_;  // by URL
  WebhookNotifierStats stats_;
  std::vector<std::jthread> workers_;  // last: joined before the state above is destroyed
};

}  // namespace lagpilot::notify
