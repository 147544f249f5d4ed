#include "controllers/notification_receivers.h"

#include <map>

#include "notify/webhook_spec.h"

namespace lagpilot::controllers {

void NotificationReceivers::refresh(const nlohmann::json& notifications_spec, const std::string& ns,
                                    const SecretReader& secrets, WallTime now,
                                    Duration refresh_interval) {
  std::string wanted = notifications_spec.dump();
  if (spec_identity_ == wanted && read_at_ && now - *read_at_ < refresh_interval) return;
  spec_identity_ = wanted;
  read_at_ = now;
  std::map<std::string, std::map<std::string, std::string>> values_by_secret;
  std::vector<std::string> unreadable;
  const auto destinations = notify::notification_secret_destinations(notifications_spec);
  for (const auto& secret_name : notify::notification_secret_names(notifications_spec)) {
    // A webhook's URL is its Secret's own value: only the allow label applies. Alertmanager and
    // PagerDuty Secrets go to URLs in the spec, checked against the destination policy first.
    SecretReference reference{secret_name, "spec.notifications", {}};
    if (auto found = destinations.find(secret_name); found != destinations.end()) {
      for (const auto& [field, url] : found->second) reference.destinations.push_back({field, url});
    }
    auto values = secrets.read(ns, reference);
    if (values) {
      values_by_secret[secret_name] = std::move(values->values);
    } else if (values.error().code != "SecretNotFound") {
      unreadable.push_back(values.error().message);
    }
  }
  auto parsed = notify::parse_notifications(
      notifications_spec, [&](const notify::SecretKeyRef& ref) -> std::optional<std::string> {
        auto secret = values_by_secret.find(ref.name);
        if (secret == values_by_secret.end()) return std::nullopt;
        auto value = secret->second.find(ref.key);
        if (value == secret->second.end()) return std::nullopt;
        return value->second;
      });
  std::string problems;
  for (const auto& message : unreadable) problems += (problems.empty() ? "" : "; ") + message;
  if (!parsed) {
    receivers_ = {};
    problems = parsed.error().message + (problems.empty() ? "" : "; " + problems);
  } else {
    receivers_ = parsed->receivers;
    for (const auto& error : parsed->errors)
      problems += (problems.empty() ? "" : "; ") + error.message;
  }
  problems_ = problems;
}

void NotificationReceivers::clear() {
  receivers_ = {};
  problems_.clear();
  spec_identity_.clear();
  read_at_.reset();
}

}  // namespace lagpilot::controllers
