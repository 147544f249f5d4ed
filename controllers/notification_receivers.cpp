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
  for (const auto& ref : notify::webhook_secret_refs(notifications_spec)) {
    if (values_by_secret.count(ref.name)) continue;
    // No destination to check: the URL is the Secret's own value. The allow label is checked.
    auto values = secrets.read(ns, {ref.name, "spec.notifications.webhooks[].urlSecretRef", {}});
    if (values) {
      values_by_secret[ref.name] = std::move(values->values);
    } else if (values.error().code != "SecretNotFound") {
      unreadable.push_back(values.error().message);
    }
  }
  auto parsed = notify::parse_webhooks(
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
    receivers_.clear();
    problems = parsed.error().message + (problems.empty() ? "" : "; " + problems);
  } else {
    receivers_ = parsed->receivers;
    for (const auto& error : parsed->errors)
      problems += (problems.empty() ? "" : "; ") + error.message;
  }
  problems_ = problems;
}

void NotificationReceivers::clear() {
  receivers_.clear();
  problems_.clear();
  spec_identity_.clear();
  read_at_.reset();
}

}  // namespace lagpilot::controllers
