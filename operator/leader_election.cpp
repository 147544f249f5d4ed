#include "operator/leader_election.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lagpilot::operator_main {
namespace {

bool same_record(const kube::LeaseRecord& a, const kube::LeaseRecord& b) {
  return a.holder_identity == b.holder_identity && a.renew_time == b.renew_time &&
         a.lease_transitions == b.lease_transitions &&
         a.lease_duration_seconds == b.lease_duration_seconds;
}

}  // namespace

kube::ClientOptions election_client_options(const LeaderElectionConfig& config,
                                            kube::ClientOptions base) {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(config.renew_deadline) / 2;
  base.request_timeout = std::max(half, std::chrono::milliseconds(1000));
  base.retry.max_attempts = 1;
  return base;
}

LeaderElector::LeaderElector(kube::KubeClient& client, Clock& clock, LeaderElectionConfig config)
    : leases_(client), clock_(clock), config_(std::move(config)) {}

bool LeaderElector::try_acquire_or_renew() {
  WallTime now = clock_.now();
  int duration_seconds = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count());
  auto current = leases_.get(config_.lease_namespace, config_.lease_name);
  if (!current) {
    spdlog::warn("leader-election lease={}/{} read failed: {}", config_.lease_namespace,
                 config_.lease_name, current.error().message);
    return false;
  }
  if (!current->has_value()) {
    kube::LeaseRecord fresh;
    fresh.holder_identity = config_.identity;
    fresh.lease_duration_seconds = duration_seconds;
    fresh.acquire_time = now;
    fresh.renew_time = now;
    fresh.labels = config_.labels;
    auto created = leases_.create(config_.lease_namespace, config_.lease_name, fresh);
    if (!created) return false;  // someone else created it first
    std::lock_guard lock(mutex_);
    observed_ = *created;
    observed_at = now;
    renewed_at_ = now;
    return true;
  }
  kube::LeaseRecord record = **current;
  {
    // A change is dated when the read returned, not when it was sent: the holder may have renewed
    // while the read was under way, and its lease runs from then. (`now`, from before the read,
    // dates our own renewal: the conservative side for the fence.)
    WallTime read_at = clock_.now();
    std::lock_guard lock(mutex_);
    if (!observed_ || !same_record(*observed_, record)) {
      observed_ = record;
      observed_at = read_at;
    }
    bool held_by_other =
        !record.holder_identity.empty() && record.holder_identity != config_.identity;
    auto record_duration = std::chrono::seconds(record.lease_duration_seconds);
    if (held_by_other && observed_at + record_duration > read_at) return false;  // not expired
  }
  kube::LeaseRecord next = record;
  if (record.holder_identity != config_.identity) {
    next.acquire_time = now;
    next.lease_transitions = record.lease_transitions + 1;
  }
  next.holder_identity = config_.identity;
  next.lease_duration_seconds = duration_seconds;
  next.renew_time = now;
  for (const auto& [key, value] : config_.labels) next.labels[key] = value;
  auto updated = leases_.update(config_.lease_namespace, config_.lease_name, next);
  if (!updated) {
    spdlog::debug("leader-election lease={}/{} update failed: {}", config_.lease_namespace,
                  config_.lease_name, updated.error().message);
    return false;
  }
  std::lock_guard lock(mutex_);
  observed_ = *updated;
  observed_at = now;
  renewed_at_ = now;
  return true;
}

bool LeaderElector::holds_lease() const {
  std::lock_guard lock(mutex_);
  return renewed_at_ &&
         clock_.now() <
             *renewed_at_ + std::chrono::duration_cast<WallTime::duration>(config_.renew_deadline);
}

bool LeaderElector::wait_retry_period() {
  std::unique_lock lock(mutex_);
  WallTime now = clock_.now();
  WallTime until = now + std::chrono::duration_cast<WallTime::duration>(config_.retry_period);
  // While leading, wake at the renew deadline at the latest: losing the lease is noticed then,
  // not up to a retry period later.
  if (renewed_at_) {
    WallTime deadline =
        *renewed_at_ + std::chrono::duration_cast<WallTime::duration>(config_.renew_deadline);
    if (deadline > now) until = std::min(until, deadline);
  }
  clock_.wait_until(lock, stop_cv_, until, [this] { return stopping_; });
  return !stopping_;
}

void LeaderElector::run(const std::function<void()>& on_started_leading,
                        const std::function<void()>& on_stopped_leading) {
  while (!try_acquire_or_renew()) {
    if (!wait_retry_period()) return;
  }
  spdlog::info("leader-election lease={}/{} acquired by {}", config_.lease_namespace,
               config_.lease_name, config_.identity);
  if (on_started_leading) on_started_leading();
  while (wait_retry_period()) {
    if (holds_lease() && try_acquire_or_renew()) continue;
    if (!holds_lease()) {
      spdlog::error("leader-election lease={}/{} lost: no renewal within the renew deadline",
                    config_.lease_namespace, config_.lease_name);
      if (on_stopped_leading) on_stopped_leading();
      return;
    }
  }
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

bool LeaderElector::release() {
  {
    std::lock_guard lock(mutex_);
    if (!renewed_at_ || !observed_ || observed_->holder_identity != config_.identity) return false;
  }
  kube::LeaseRecord released;
  {
    std::lock_guard lock(mutex_);
    released = *observed_;
  }
  released.holder_identity = "";
  released.lease_duration_seconds = 1;
  released.renew_time = clock_.now();
  auto updated = leases_.update(config_.lease_namespace, config_.lease_name, released);
  std::lock_guard lock(mutex_);
  renewed_at_.reset();
  if (!updated) return false;
  observed_ = *updated;
  return true;
}

std::optional<kube::ApiError> FencedKubeClient::refused(const std::string& what) const {
  if (!may_write_ || may_write_()) return std::nullopt;
  return kube::ApiError(kube::ApiReason::kCancelled, 0,
                        what + ": not sent: not leading (lease not renewed within the deadline)");
}

kube::ApiResult<kube::Json> FencedKubeClient::get(const kube::Gvr& gvr, const std::string& ns,
                                                  const std::string& name) {
  return inner_.get(gvr, ns, name);
}

kube::ApiResult<kube::Json> FencedKubeClient::list(const kube::Gvr& gvr, const std::string& ns,
                                                   const kube::ListOptions& options) {
  return inner_.list(gvr, ns, options);
}

kube::ApiResult<kube::Json> FencedKubeClient::create(const kube::Gvr& gvr, const std::string& ns,
                                                     const kube::Json& object) {
  if (auto error = refused("create " + gvr.to_string())) return *error;
  return inner_.create(gvr, ns, object);
}

kube::ApiResult<kube::Json> FencedKubeClient::update(const kube::Gvr& gvr, const std::string& ns,
                                                     const kube::Json& object) {
  if (auto error = refused("update " + gvr.to_string())) return *error;
  return inner_.update(gvr, ns, object);
}

kube::ApiResult<kube::Json> FencedKubeClient::patch(const kube::Gvr& gvr, const std::string& ns,
                                                    const std::string& name, kube::PatchType type,
                                                    const kube::Json& patch,
                                                    const std::string& subresource) {
  if (auto error = refused("patch " + gvr.to_string() + " " + name)) return *error;
  return inner_.patch(gvr, ns, name, type, patch, subresource);
}

kube::ApiStatus FencedKubeClient::remove(const kube::Gvr& gvr, const std::string& ns,
                                         const std::string& name) {
  if (auto error = refused("delete " + gvr.to_string() + " " + name)) return *error;
  return inner_.remove(gvr, ns, name);
}

kube::ApiStatus FencedKubeClient::remove_if_unchanged(const kube::Gvr& gvr, const std::string& ns,
                                                      const std::string& name,
                                                      const std::string& resource_version) {
  if (auto error = refused("delete " + gvr.to_string() + " " + name)) return *error;
  return inner_.remove_if_unchanged(gvr, ns, name, resource_version);
}

kube::ApiResult<kube::Json> FencedKubeClient::update_status(const kube::Gvr& gvr,
                                                            const std::string& ns,
                                                            const kube::Json& object) {
  if (auto error = refused("update " + gvr.to_string() + " status")) return *error;
  return inner_.update_status(gvr, ns, object);
}

kube::ApiResult<kube::Json> FencedKubeClient::get_scale(const kube::Gvr& gvr, const std::string& ns,
                                                        const std::string& name) {
  return inner_.get_scale(gvr, ns, name);
}

kube::ApiResult<kube::Json> FencedKubeClient::patch_scale(const kube::Gvr& gvr,
                                                          const std::string& ns,
                                                          const std::string& name, int replicas) {
  if (auto error = refused("scale " + gvr.to_string() + " " + name)) return *error;
  return inner_.patch_scale(gvr, ns, name, replicas);
}

kube::ApiResult<std::unique_ptr<kube::WatchStream>> FencedKubeClient::watch(
    const kube::Gvr& gvr, const std::string& ns, const kube::WatchOptions& options) {
  return inner_.watch(gvr, ns, options);
}

kube::ApiResult<kube::Gvr> FencedKubeClient::resolve_kind(const std::string& api_version,
                                                          const std::string& kind) {
  return inner_.resolve_kind(api_version, kind);
}

}  // namespace lagpilot::operator_main
