#pragma once
// spec.notifications (webhooks, alertmanagers, pagerduty): which Secrets the controller must read,
// and the receivers built from them.
#include <functional>
#include <map>
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

// Every Secret spec.notifications names (webhooks[].urlSecretRef, alertmanagers[].authSecretRef,
// pagerduty[].routingKeySecretRef), sorted and deduplicated. Malformed entries are skipped.
std::vector<std::string> notification_secret_names(const nlohmann::json& notifications_spec);

// Where each of those Secrets' values go: for every Secret name, the spec field and URL of each
// server it is sent to (alertmanagers[i].urls[u], pagerduty[i].url or PagerDuty's default). A
// webhook's urlSecretRef has none: its URL is the Secret's own value. Checked against the
// operator's --allowed-credential-destinations before the Secret is read (docs/security.md).
std::map<std::string, std::vector<std::pair<std::string, std::string>>>
notification_secret_destinations(const nlohmann::json& notifications_spec);

struct ParsedReceivers {
  Receivers receivers;  // the usable ones, in spec order
  // One per receiver whose Secret could not be used (code "InvalidCredentials", naming the field
  // and the Secret, never a value); the other receivers still work.
  std::vector<Error> errors;
};

// All of spec.notifications: webhooks as parse_webhooks, and
//   alertmanagers[]: {name, urls: [1-5 http(s) base URLs], authSecretRef?: {name} (keys token, or
//     username and password, and/or ca.crt), resendIntervalSeconds? (default 60, 10-3600),
//     minSeverity?, monitorURL?}
//   pagerduty[]: {name, routingKeySecretRef: {name, key? (default routingKey)}, url? (default
//     https://events.pagerduty.com/v2/enqueue), sendResolved?, repeatIntervalSeconds?,
//     minSeverity?, monitorURL?}
// Names are unique across the three lists. A spec error fails the whole call ("InvalidSpec").
Result<ParsedReceivers> parse_notifications(const nlohmann::json& notifications_spec,
                                            const SecretLookup& secret_value);

}  // namespace lagpilot::notify
