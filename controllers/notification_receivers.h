#pragma once
// A monitor's notification receivers (spec.notifications: webhooks, alertmanagers, pagerduty),
// with URLs, credentials and routing keys from their Secrets. Re-read when spec.notifications
// changes and every refresh interval (rotated Secrets).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/credentials.h"
#include "notify/notifier.h"
#include "util/clock.h"

namespace lagpilot::controllers {

class NotificationReceivers {
 public:
  void refresh(const nlohmann::json& notifications_spec, const std::string& ns,
               const SecretReader& secrets, WallTime now, Duration refresh_interval);
  void clear();

  const notify::Receivers& receivers() const { return receivers_; }
  // Why some receivers are not usable ("" when all are), for condition NotificationsReady.
  const std::string& problems() const { return problems_; }

 private:
  notify::Receivers receivers_;
  std::string spec_identity_;
  std::optional<WallTime> read_at_;
  std::string problems_;
};

}  // namespace lagpilot::controllers
