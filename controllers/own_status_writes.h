#pragma once
// The operator is the only writer of a QueueMonitor's status, and a reconcile builds the next
// status on the one it starts from (status_builder.h): scalingHistory, lastScaleTime and
// originalReplicas are carried over from it, not recomputed. The informer's copy lags our own
// writes by a watch round-trip, so a reconcile right after a write (a Deployment event, a quick
// requeue) would start from the copy before it, and a history entry added then would replace the
// server's list with one that lacks the entries of that write.
//
// OwnStatusWrites remembers, per monitor, the status of its last successful write as the server
// answered it (defaults applied, unknown fields pruned) with that answer's resourceVersion. A
// reconcile starts from the newer of that and the cached object: resourceVersions are etcd
// revisions, compared as numbers. Once the cache holds the write (or something newer, e.g. another
// leader's write after a fail-over) the memory is dropped and the cache is the source again, as it
// is after a restart.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lagpilot::controllers {

// "123" -> 123; nullopt for anything but a decimal number (resourceVersions are opaque strings to
// the API, numbers in every kube-apiserver backed by etcd).
std::optional<std::uint64_t> resource_version_number(std::string_view resource_version);

class OwnStatusWrites {
 public:
  // After a successful status write: the object the server answered with.
  void wrote(const nlohmann::json& answered_object);
  // The status to build on, given the cached object: the last write's when the cache does not
  // have it yet, else the cached one (and the last write is forgotten).
  nlohmann::json status_to_build_on(const nlohmann::json& cached_object);
  bool remembers_a_write() const {
    std::lock_guard lock(mutex_);
    return status_.has_value();
  }

 private:
  mutable std::mutex mutex_;  // wrote() comes from a status writer thread
  std::optional<nlohmann::json> status_;
  std::uint64_t resource_version_ = 0;
};

}  // namespace lagpilot::controllers
