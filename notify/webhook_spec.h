#pragma once
// spec.notifications.webhooks: which Secrets the controller must read, and the receivers built
// from them.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "notify/notifier.h"
#include "util/result.h"

namespace lagpilot::notify {

struct SecretKeyRef {
  std::string name;  // Secret in the monitor's namespace
  std::string key = "url";
  auto operator<=>(const SecretKeyRef&) const = default;
};

// The Secret keys spec.notifications.webhooks[].urlSecretRef point at (sorted, deduplicated), so
// the controller knows what to read. `notifications_spec` is spec.notifications (null: none).
// Malformed entries are skipped here; parse_webhooks reports them.
std::vector<SecretKeyRef> webhook_secret_refs(const nlohmann::json& notifications_spec);

// A Secret value by reference; nullopt when the Secret or the key does not exist.
using SecretLookup = std::function<std::optional<std::string>(const SecretKeyRef&)>;

struct ParsedWebhooks {
  std::vector<WebhookReceiver> receivers;  // the usable ones, in spec order
  // One per webhook whose URL could not be resolved (code "InvalidCredentials", e.g.
  // "spec.notifications.webhooks[oncall].urlSecretRef: Secret oncall-webhook has no key url");
  // the other webhooks still work. Never contains the URL.
  std::vector<Error> errors;
};

// Checks spec.notifications (null or absent: no receivers) and resolves each URL (trimmed; must
// be http or https). A spec error fails the whole call with code "InvalidSpec", e.g.
// "spec.notifications.webhooks[1].format: must be alertmanager or slack".
Result<ParsedWebhooks> parse_webhooks(const nlohmann::json& notifications_spec,
                                      const SecretLookup& secret_value);

}  // namespace lagpilot::notify
