#pragma once
// Lease-based leader election (coordination.k8s.io/v1), with client-go's semantics: a candidate
// takes the Lease only when its holder has not renewed it for leaseDuration as observed on the
// candidate's own clock (never comparing clocks across machines); the leader renews every
// retryPeriod and considers itself deposed when it could not renew for renewDeadline, which is
// shorter than leaseDuration, so it stops writing before anyone else may start.
//
// The fence: FencedKubeClient refuses every write (status, scale, Events) while holds_lease() is
// false, and the elector talks to the API server through its own client whose requests are
// bounded inside the renew deadline (election_client_options), so a leader cut off from the API
// server gives up at its renew deadline rather than after the general client's timeouts.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kube/lease.h"
#include "kube/rest_client.h"
#include "util/clock.h"

namespace lagpilot::operator_main {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name = "lagpilot-leader";
  std::string identity;
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
  std::map<std::string, std::string> labels;  // put on the Lease (shard membership's selector)
};

// Options for the elector's own API client, from the general client's (`base`): no retries inside
// the client (the elector itself retries every retry period) and each request bounded to half the
// renew deadline (at least 1 s), so one hanging request cannot outlast the renew deadline.
kube::ClientOptions election_client_options(const LeaderElectionConfig& config,
                                            kube::ClientOptions base);

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
  // Waits one retry period, but not past the renew deadline while leading. False when stopped.
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

// A KubeClient whose writes (create, update, patch, delete, status, scale) fail without reaching
// the server while `may_write` is false; reads and watches pass through. Everything the
// controller writes goes through it, so a leader whose lease may have lapsed writes nothing.
class FencedKubeClient final : public kube::KubeClient {
 public:
  FencedKubeClient(kube::KubeClient& inner, std::function<bool()> may_write)
      : inner_(inner), may_write_(std::move(may_write)) {}

  kube::ApiResult<kube::Json> get(const kube::Gvr& gvr, const std::string& ns,
                                  const std::string& name) override;
  kube::ApiResult<kube::Json> list(const kube::Gvr& gvr, const std::string& ns,
                                   const kube::ListOptions& options) override;
  kube::ApiResult<kube::Json> create(const kube::Gvr& gvr, const std::string& ns,
                                     const kube::Json& object) override;
  kube::ApiResult<kube::Json> update(const kube::Gvr& gvr, const std::string& ns,
                                     const kube::Json& object) override;
  kube::ApiResult<kube::Json> patch(const kube::Gvr& gvr, const std::string& ns,
                                    const std::string& name, kube::PatchType type,
                                    const kube::Json& patch,
                                    const std::string& subresource) override;
  kube::ApiStatus remove(const kube::Gvr& gvr, const std::string& ns,
                         const std::string& name) override;
  kube::ApiStatus remove_if_unchanged(const kube::Gvr& gvr, const std::string& ns,
                                      const std::string& name,
                                      const std::string& resource_version) override;
  kube::ApiResult<kube::Json> update_status(const kube::Gvr& gvr, const std::string& ns,
                                            const kube::Json& object) override;
  kube::ApiResult<kube::Json> get_scale(const kube::Gvr& gvr, const std::string& ns,
                                        const std::string& name) override;
  kube::ApiResult<kube::Json> patch_scale(const kube::Gvr& gvr, const std::string& ns,
                                          const std::string& name, int replicas) override;
  kube::ApiResult<std::unique_ptr<kube::WatchStream>> watch(
      const kube::Gvr& gvr, const std::string& ns, const kube::WatchOptions& options) override;
  kube::ApiResult<kube::Gvr> resolve_kind(const std::string& api_version,
                                          const std::string& kind) override;

 private:
  // The error a fenced write returns, or nullopt when writing is allowed.
  std::optional<kube::ApiError> refused(const std::string& what) const;

  kube::KubeClient& inner_;
  std::function<bool()> may_write_;
};

}  // namespace lagpilot::operator_main
