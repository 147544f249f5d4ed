#pragma once
// Lease-based leader election (coordination.k8s.io/v1), with client-go's semantics: a candidate
// takes the Lease only when its holder has not renewed it for leaseDuration as observed on the
// candidate's own clock (never comparing clocks across machines); the leader renews every
// retryPeriod and considers itself deposed when it could not renew for renewDeadline, which is
// shorter than leaseDuration, so it stops writing before anyone else may start.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "kube/lease.h"
#include "util/clock.h"

namespace lagpilot::operator_main {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name = "lagpilot-leader";
  std::string identity;
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
};

class LeaderElector {
 public:
  LeaderElector(kube::KubeClient& client, Clock& clock, LeaderElectionConfig config);

  // One attempt to acquire or renew; true when we hold the Lease afterwards.
  bool try_acquire_or_renew();
  // True while writes are safe: the last successful renewal is younger than renewDeadline.
  bool holds_lease() const;
  // Campaigns until leading or stopped, then renews until the lease is lost or stopped. Calls
  // on_started_leading once on acquiring, on_stopped_leading once when deposed.
  void run(const std::function<void()>& on_started_leading,
           const std::function<void()>& on_stopped_leading);
  void stop();
  // Hands the Lease over at once (holder cleared, 1 s duration), as client-go's ReleaseOnCancel.
  bool release();
  const LeaderElectionConfig& config() const { return config_; }

 private:
  bool wait_retry_period();

  kube::LeaseClient leases_;
  Clock& clock_;
  LeaderElectionConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::optional<kube::LeaseRecord> observed_;  // the Lease as we last saw it
  WallTime observed_at{};                      // our clock when it last changed
  std::optional<WallTime> renewed_at_;         // our last successful acquire/renew
};

}  // namespace lagpilot::operator_main
