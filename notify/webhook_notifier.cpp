#include "notify/webhook_notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace lagpilot::notify {
namespace {

// A base URL's POST /api/v2/alerts (the base may carry a path prefix).
std::string alertmanager_alerts_url(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v2/alerts";
}

bool retryable_status(int status) { return status == 408 || status == 429 || status >= 500; }

std::string outcome_text(const Result<int>& outcome) {
  if (!outcome.ok()) return outcome.error().code + ": " + outcome.error().message;
  return "HTTP " + std::to_string(*outcome);
}

// Firing alerts most severe first, then by name: the order receivers show them in.
std::vector<AlertRecord> ordered(const std::map<std::string, AlertRecord>& records) {
  std::vector<AlertRecord> out;
  out.reserve(records.size());
  for (const auto& [fingerprint, record] : records) out.push_back(record);
  std::stable_sort(out.begin(), out.end(), [](const AlertRecord& a, const AlertRecord& b) {
    if (a.severity != b.severity) return a.severity < b.severity;
    return a.labels.at("alertname") < b.labels.at("alertname");
  });
  return out;
}

}  // namespace

WebhookNotifier::WebhookNotifier(Clock& clock, std::shared_ptr<HttpSender> sender,
                                 WebhookNotifierOptions options)
    : clock_(clock), sender_(std::move(sender)), options_(std::move(options)) {
  options_.workers = std::max(options_.workers, 1);
  options_.max_queue = std::max<std::size_t>(options_.max_queue, 1);
  options_.max_in_flight_per_destination = std::max(options_.max_in_flight_per_destination, 1);
  options_.max_attempts = std::max(options_.max_attempts, 1);
  workers_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { run(stop); });
  }
}

WebhookNotifier::~WebhookNotifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    ++version_;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.request_stop();  // cancels in-flight requests
  workers_.clear();                                     // joins
}

void WebhookNotifier::notify(const MonitorAlerts& alerts, const Receivers& receivers) {
  const WallTime now = clock_.now();
  // Every group this poll wants, built outside the lock.
  std::map<GroupKey, Wanted> wanted;
  std::set<std::string> names;  // the first of a duplicate name wins
  auto firing_for = [&](Severity min_severity, const std::string& monitor_url) {
    std::map<std::string, AlertRecord> latest;
    for (const auto& alert : alerts.firing) {
      if (alert.severity > min_severity) continue;
      AlertRecord record = make_alert_record(alerts, alert, monitor_url);
      latest.try_emplace(record.fingerprint, std::move(record));
    }
    return latest;
  };
  for (const auto& receiver : receivers.webhooks) {
    if (!names.insert(receiver.name).second) continue;
    Route route;
    route.kind = Kind::kWebhook;
    route.url = receiver.url;
    route.format = receiver.format;
    route.repeat_interval = receiver.repeat_interval;
    route.send_resolved = receiver.send_resolved;
    wanted[GroupKey{alerts.monitor, receiver.name, ""}] =
        Wanted{route, firing_for(receiver.min_severity, "")};
  }
  for (const auto& target : receivers.alertmanagers) {
    if (!names.insert(target.name).second) continue;
    auto latest = firing_for(target.min_severity, target.monitor_url);
    for (const auto& base : target.urls) {
      Route route;
      route.kind = Kind::kAlertmanager;
      route.url = alertmanager_alerts_url(base);
      route.credentials = target.credentials;
      route.repeat_interval = target.resend_interval;
      route.send_resolved = true;
      wanted.try_emplace(GroupKey{alerts.monitor, target.name, base}, Wanted{route, latest});
    }
  }
  std::map<std::string, Route> pagerduty_routes;
  for (const auto& target : receivers.pagerduty) {
    if (!names.insert(target.name).second) continue;
    Route route;
    route.kind = Kind::kPagerDuty;
    route.url = target.url;
    route.credentials = target.credentials;
    route.routing_key = target.routing_key;
    route.repeat_interval = target.repeat_interval;
    route.send_resolved = target.send_resolved;
    pagerduty_routes[target.name] = route;
    for (auto& [fingerprint, record] : firing_for(target.min_severity, target.monitor_url)) {
      wanted[GroupKey{alerts.monitor, target.name, fingerprint}] =
          Wanted{route, {{fingerprint, std::move(record)}}};
    }
  }
  {
    std::lock_guard lock(mutex_);
    auto [cadence, first] = cadence_.try_emplace(alerts.monitor, Cadence{now, Duration{0}});
    if (!first) {
      cadence->second.interval = now - cadence->second.last;
      cadence->second.last = now;
    }
    // Groups of this monitor that this poll does not want: a pagerduty alert that stopped firing
    // resolves (then its group goes); anything else belongs to a receiver no longer in the spec
    // and is forgotten.
    std::vector<GroupKey> unwanted;
    for (auto it = groups_.lower_bound(GroupKey{alerts.monitor, "", ""});
         it != groups_.end() && it->first.monitor == alerts.monitor; ++it) {
      if (wanted.count(it->first) == 0) unwanted.push_back(it->first);
    }
    for (const auto& key : unwanted) {
      Group& group = groups_.at(key);
      auto route = pagerduty_routes.find(key.receiver);
      if (group.receiver.kind == Kind::kPagerDuty && route != pagerduty_routes.end()) {
        apply(key, Wanted{route->second, {}}, now);
        group.removing = true;
        erase_group_if_done(key);
      } else {
        unqueue(group);
        groups_.erase(key);
      }
    }
    for (auto& [key, want] : wanted) apply(key, std::move(want), now);
    // Restored deliveries of receivers this poll does not have are no longer anybody's.
    forget_restored(alerts.monitor);
    ++version_;
  }
  changed_.notify_all();
}

// Brings one group up to what this poll wants and decides what to send. Called with the lock
// held.
void WebhookNotifier::apply(const GroupKey& key, Wanted wanted, WallTime now) {
  auto [entry, inserted] = groups_.try_emplace(key);
  Group& group = entry->second;
  if (!inserted && !group.receiver.same_destination(wanted.route)) {
    // A different destination: it has been told nothing yet.
    unqueue(group);
    ++group.generation;
    group.in_flight = false;  // the old request's result is ignored
    group.delivered.clear();
    group.gone.clear();
    group.last_delivered.reset();
    group.retry_after.reset();
  }
  group.receiver = std::move(wanted.route);
  group.removing = false;
  const Duration interval =
      cadence_.count(key.monitor) ? cadence_.at(key.monitor).interval : Duration{0};
  group.ends_after = 4 * std::max<Duration>(group.receiver.repeat_interval, interval);
  for (auto& [fingerprint, record] : group.latest) {
    if (wanted.latest.count(fingerprint) == 0 && group.gone.count(fingerprint) == 0) {
      AlertRecord ended = record;
      ended.ends_at = now;
      group.gone.emplace(fingerprint, std::move(ended));
    }
  }
  for (const auto& [fingerprint, record] : wanted.latest) group.gone.erase(fingerprint);
  group.latest = std::move(wanted.latest);
  if (group.receiver.kind == Kind::kWebhook) adopt_restored_delivery(group, key);
  update_group(group, key, now);
}

// A webhook group that has delivered nothing in this process takes up what the process before
// delivered: the alerts of that delivery that still fire count as delivered then.
void WebhookNotifier::adopt_restored_delivery(Group& group, const GroupKey& key) {
  auto restored = restored_.find(key);
  if (restored == restored_.end()) return;
  if (!group.last_delivered) {
    for (const auto& fingerprint : restored->second.firing) {
      auto firing = group.latest.find(fingerprint);
      if (firing != group.latest.end()) group.delivered.insert(*firing);
    }
    group.last_delivered = restored->second.delivered_at;
  }
  restored_.erase(restored);
}

void WebhookNotifier::forget_restored(const MonitorKey& monitor) {
  auto it = restored_.lower_bound(GroupKey{monitor, "", ""});
  while (it != restored_.end() && it->first.monitor == monitor) it = restored_.erase(it);
}

std::vector<WebhookDelivery> WebhookNotifier::webhook_deliveries(const MonitorKey& monitor) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, WebhookDelivery> by_receiver;
  for (auto it = restored_.lower_bound(GroupKey{monitor, "", ""});
       it != restored_.end() && it->first.monitor == monitor; ++it) {
    by_receiver[it->first.receiver] = it->second;
  }
  for (auto it = groups_.lower_bound(GroupKey{monitor, "", ""});
       it != groups_.end() && it->first.monitor == monitor; ++it) {
    const Group& group = it->second;
    if (group.receiver.kind != Kind::kWebhook || !group.last_delivered) continue;
    if (group.delivered.empty()) {
      by_receiver.erase(it->first.receiver);
      continue;
    }
    WebhookDelivery delivery{it->first.receiver, *group.last_delivered, {}};
    for (const auto& [fingerprint, record] : group.delivered)
      delivery.firing.push_back(fingerprint);
    by_receiver[it->first.receiver] = std::move(delivery);
  }
  std::vector<WebhookDelivery> out;
  for (auto& [receiver, delivery] : by_receiver) out.push_back(std::move(delivery));
  return out;
}

void WebhookNotifier::restore_webhook_deliveries(const MonitorKey& monitor,
                                                 const std::vector<WebhookDelivery>& deliveries) {
  std::lock_guard lock(mutex_);
  for (const auto& delivery : deliveries) {
    if (delivery.receiver.empty() || delivery.firing.empty()) continue;
    WebhookDelivery kept = delivery;
    std::sort(kept.firing.begin(), kept.firing.end());
    restored_[GroupKey{monitor, delivery.receiver, ""}] = std::move(kept);
  }
}

void WebhookNotifier::remove_monitor(const MonitorKey& monitor) {
  const WallTime now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    std::vector<GroupKey> keys;
    cadence_.erase(monitor);
    forget_restored(monitor);
    for (auto it = groups_.lower_bound(GroupKey{monitor, "", ""});
         it != groups_.end() && it->first.monitor == monitor; ++it) {
      keys.push_back(it->first);
    }
    for (const auto& key : keys) {
      Group& group = groups_.at(key);
      for (auto& [fingerprint, record] : group.latest) {
        AlertRecord ended = record;
        ended.ends_at = now;
        group.gone.try_emplace(fingerprint, std::move(ended));
      }
      group.latest.clear();
      group.removing = true;
      group.retry_after.reset();
      update_group(group, key, now);
      erase_group_if_done(key);
    }
    ++version_;
  }
  changed_.notify_all();
}

// Decides whether the group's receiver must be told something and queues (or updates, or
// withdraws) its notification. Called with the lock held.
void WebhookNotifier::update_group(Group& group, const GroupKey& key, WallTime now) {
  if (group.in_flight) return;  // finish() comes back here
  // Resolutions only matter for alerts the receiver was told about.
  for (auto it = group.gone.begin(); it != group.gone.end();) {
    it = group.delivered.count(it->first) == 0 ? group.gone.erase(it) : std::next(it);
  }
  if (!group.receiver.send_resolved && !group.gone.empty()) {
    for (const auto& [fingerprint, record] : group.gone) group.delivered.erase(fingerprint);
    group.gone.clear();
  }
  if (group.retry_after) {
    if (now < *group.retry_after) return;
    group.retry_after.reset();
  }
  const bool new_firing =
      std::any_of(group.latest.begin(), group.latest.end(),
                  [&](const auto& entry) { return group.delivered.count(entry.first) == 0; });
  const bool repeat_due = !group.latest.empty() && group.last_delivered &&
                          now - *group.last_delivered >= group.receiver.repeat_interval;
  if (!new_firing && group.gone.empty() && !repeat_due) {
    unqueue(group);  // e.g. an alert fired and resolved again before it was delivered
    return;
  }
  Notification notification{key.monitor, key.receiver, ordered(group.latest), ordered(group.gone)};
  enqueue(group, key, std::move(notification));
}

void WebhookNotifier::enqueue(Group& group, const GroupKey& key, Notification notification) {
  std::string body;
  switch (group.receiver.kind) {
    case Kind::kWebhook:
      body = (group.receiver.format == WebhookFormat::kSlack
                  ? slack_payload(notification, options_.external_url)
                  : alertmanager_payload(notification, options_.external_url))
                 .dump();
      break;
    case Kind::kAlertmanager:
      body = alertmanager_api_payload(notification, clock_.now(), group.ends_after).dump();
      break;
    case Kind::kPagerDuty:
      body = pagerduty_event(notification, group.receiver.routing_key).dump();
      break;
  }
  if (group.queued_seq) {  // replace the queued one: it keeps its place and backoff
    auto& queue = destinations_[group.receiver.url].queue;
    auto job = std::find_if(queue.begin(), queue.end(),
                            [&](const Job& j) { return j.seq == *group.queued_seq; });
    if (job != queue.end()) {
      job->notification = std::move(notification);
      job->body = std::move(body);
      return;
    }
    group.queued_seq.reset();
  }
  const WallTime now = clock_.now();
  while (stats_.queued >= options_.max_queue) drop_oldest();
  Job job;
  job.seq = next_seq_++;
  job.group = key;
  job.generation = group.generation;
  job.destination = group.receiver.url;
  job.credentials = group.receiver.credentials;
  job.notification = std::move(notification);
  job.body = std::move(body);
  job.content_type = "application/json";
  job.not_before = now;
  group.queued_seq = job.seq;
  destinations_[job.destination].queue.push_back(std::move(job));
  ++stats_.queued;
  ++stats_.enqueued;
}

void WebhookNotifier::unqueue(Group& group) {
  if (!group.queued_seq) return;
  auto destination = destinations_.find(group.receiver.url);
  if (destination != destinations_.end()) {
    auto& queue = destination->second.queue;
    auto job = std::find_if(queue.begin(), queue.end(),
                            [&](const Job& j) { return j.seq == *group.queued_seq; });
    if (job != queue.end()) {
      queue.erase(job);
      --stats_.queued;
    }
    if (queue.empty() && destination->second.in_flight == 0) destinations_.erase(destination);
  }
  group.queued_seq.reset();
}

void WebhookNotifier::drop_oldest() {
  auto oldest = destinations_.end();
  for (auto it = destinations_.begin(); it != destinations_.end(); ++it) {
    if (it->second.queue.empty()) continue;
    if (oldest == destinations_.end() ||
        it->second.queue.front().seq < oldest->second.queue.front().seq) {
      oldest = it;
    }
  }
  if (oldest == destinations_.end()) return;
  Job job = std::move(oldest->second.queue.front());
  oldest->second.queue.pop_front();
  if (oldest->second.queue.empty() && oldest->second.in_flight == 0) destinations_.erase(oldest);
  --stats_.queued;
  ++stats_.dropped;
  if (auto group = groups_.find(job.group);
      group != groups_.end() && group->second.queued_seq == job.seq) {
    // Not delivered: the group still differs from what its receiver knows, so the next
    // notify() queues it again.
    group->second.queued_seq.reset();
  }
  if (stats_.dropped == 1 || stats_.dropped % 100 == 0) {
    spdlog::warn(
        "webhook queue full ({} queued): dropped the oldest notification, monitor={} "
        "receiver={}; {} dropped so far",
        options_.max_queue, job.group.monitor.str(), job.group.receiver, stats_.dropped);
  }
}

void WebhookNotifier::erase_group_if_done(const GroupKey& key) {
  auto group = groups_.find(key);
  if (group != groups_.end() && group->second.removing && !group->second.in_flight &&
      !group->second.queued_seq) {
    groups_.erase(group);
  }
}

std::optional<WebhookNotifier::Job> WebhookNotifier::take_ready_job(WallTime now,
                                                                    WallTime& next_wake) {
  auto chosen = destinations_.end();
  for (auto it = destinations_.begin(); it != destinations_.end(); ++it) {
    Destination& destination = it->second;
    if (destination.queue.empty() ||
        destination.in_flight >= options_.max_in_flight_per_destination) {
      continue;
    }
    const Job& front = destination.queue.front();
    if (front.not_before > now) {
      next_wake = std::min(next_wake, front.not_before);
      continue;
    }
    if (chosen == destinations_.end() || front.seq < chosen->second.queue.front().seq) {
      chosen = it;
    }
  }
  if (chosen == destinations_.end()) return std::nullopt;
  Job job = std::move(chosen->second.queue.front());
  chosen->second.queue.pop_front();
  ++chosen->second.in_flight;
  --stats_.queued;
  ++stats_.in_flight;
  ++job.attempts;
  if (auto group = groups_.find(job.group);
      group != groups_.end() && group->second.generation == job.generation) {
    group->second.queued_seq.reset();
    group->second.in_flight = true;
  }
  return job;
}

void WebhookNotifier::finish(Job job, const Result<int>& outcome) {
  const WallTime now = clock_.now();
  const GroupKey key = job.group;  // `job` may be moved back into the queue below
  const std::string destination_url = job.destination;
  auto destination = destinations_.find(destination_url);
  if (destination != destinations_.end()) --destination->second.in_flight;
  --stats_.in_flight;

  auto group_entry = groups_.find(job.group);
  Group* group = group_entry != groups_.end() && group_entry->second.generation == job.generation
                     ? &group_entry->second
                     : nullptr;
  const bool delivered = outcome.ok() && *outcome >= 200 && *outcome < 300;
  const std::string what =
      "monitor=" + job.group.monitor.str() + " receiver=" + job.group.receiver +
      (job.group.part.empty() || group == nullptr || group->receiver.kind != Kind::kAlertmanager
           ? std::string()
           : " url=" + job.group.part);
  if (delivered) {
    ++stats_.delivered;
    if (job.attempts > 1) {
      spdlog::info("webhook {} delivered after {} attempts", what, job.attempts);
    } else {
      spdlog::debug("webhook {} delivered ({} firing, {} resolved)", what,
                    job.notification.firing.size(), job.notification.resolved.size());
    }
    if (group) {
      group->in_flight = false;
      group->delivered.clear();
      for (const auto& record : job.notification.firing) {
        group->delivered.emplace(record.fingerprint, record);
      }
      for (const auto& record : job.notification.resolved) group->gone.erase(record.fingerprint);
      group->last_delivered = now;
    }
  } else {
    ++stats_.failed_attempts;
    const bool retry = !stopping_ && group && (!outcome.ok() || retryable_status(*outcome)) &&
                       job.attempts < options_.max_attempts;
    if (retry) {
      Duration backoff = options_.initial_backoff;
      for (int i = 1; i < job.attempts && backoff < options_.max_backoff; ++i) backoff *= 2;
      backoff = std::min(backoff, options_.max_backoff);
      spdlog::debug("webhook {} attempt {} failed ({}); retrying in {} ms", what, job.attempts,
                    outcome_text(outcome),
                    std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
      job.not_before = now + std::chrono::duration_cast<WallTime::duration>(backoff);
      group->in_flight = false;
      group->queued_seq = job.seq;
      destinations_[destination_url].queue.push_front(std::move(job));
      ++stats_.queued;
    } else {
      if (!stopping_) {
        ++stats_.gave_up;
        spdlog::warn("webhook {} not delivered after {} attempt(s): {}", what, job.attempts,
                     outcome_text(outcome));
      }
      if (group) {
        group->in_flight = false;
        group->retry_after =
            now + std::chrono::duration_cast<WallTime::duration>(options_.max_backoff);
      }
    }
  }
  if (destination = destinations_.find(destination_url); destination != destinations_.end() &&
                                                         destination->second.queue.empty() &&
                                                         destination->second.in_flight == 0) {
    destinations_.erase(destination);
  }
  if (group && !stopping_) {
    update_group(*group, key, now);  // tell what changed while this one was out
    erase_group_if_done(key);
  }
  ++version_;
}

void WebhookNotifier::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const uint64_t seen = version_;
    WallTime next_wake = WallTime::max();
    std::optional<Job> job = take_ready_job(clock_.now(), next_wake);
    if (!job) {
      clock_.wait_until(lock, changed_, next_wake, [&] { return stopping_ || version_ != seen; });
      continue;
    }
    lock.unlock();
    WebhookRequest request{job->destination,
                           job->body,
                           job->content_type,
                           options_.request_timeout,
                           job->credentials.authorization,
                           job->credentials.ca_pem};
    Result<int> outcome = [&]() -> Result<int> {
      try {
        return sender_->post(request, stop);
      } catch (const std::exception& e) {
        return Error{"WebhookUnreachable", e.what()};
      }
    }();
    lock.lock();
    finish(std::move(*job), outcome);
    lock.unlock();
    changed_.notify_all();
    lock.lock();
  }
}

WebhookNotifierStats WebhookNotifier::stats() const {
  std::lock_guard lock(mutex_);
  WebhookNotifierStats stats = stats_;
  for (const auto& [url, destination] : destinations_) {
    for (const Job& job : destination.queue) {
      if (!stats.next_attempt_at || job.not_before < *stats.next_attempt_at)
        stats.next_attempt_at = job.not_before;
    }
  }
  return stats;
}

bool WebhookNotifier::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout,
                           [&] { return stats_.queued == 0 && stats_.in_flight == 0; });
}

}  // namespace lagpilot::notify
