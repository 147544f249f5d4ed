#pragma once
// Who scales a target (issue 14): a target is scaled by at most one controller. Pure functions
// over what the informer caches hold, plus the index of the other autoscalers by their target,
// so that a reconcile asks no API server anything to know whether it owns its target.
//
// Claimants of a target (namespace, kind, name):
//  - QueueMonitors naming it in spec.target, mode Active, with a spec that parses and not being
//    deleted. The oldest by metadata.creationTimestamp, then name, keeps it; the others lose.
//    A DryRun monitor never touches its target: it claims nothing and loses to nothing.
//  - HorizontalPodAutoscalers whose spec.scaleTargetRef is the target, and KEDA ScaledObjects
//    (spec.scaleTargetRef, kind Deployment when omitted). Either always wins over a QueueMonitor:
//    lagpilot cannot stop them, so it steps aside.
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/queuemonitor_spec.h"
#include "util/result.h"

namespace lagpilot::controllers {

// Annotations on the QueueMonitor (docs/api.md).
inline constexpr char kPausedAnnotation[] = "lagpilot.io/paused";
// KEDA's autoscaling.keda.sh/paused-replicas, on the QueueMonitor: the target is held at N.
inline constexpr char kPausedReplicasAnnotation[] = "lagpilot.io/paused-replicas";
// On QueueMonitors with spec.scaling.onDelete Restore.
inline constexpr char kRestoreFinalizer[] = "lagpilot.io/restore-replicas";

// "namespace/Kind/name": the key of a target in the indexes.
std::string target_key(const std::string& ns, const std::string& kind, const std::string& name);

// The target an HPA or ScaledObject scales ("" when it names none). `default_kind` fills an
// omitted scaleTargetRef.kind (KEDA: Deployment).
std::string scaled_target_key(const nlohmann::json& autoscaler, const std::string& default_kind);

// Whether a cached QueueMonitor claims its spec.target (see above).
bool claims_target(const nlohmann::json& monitor);

// True when `a` is older than `b`: creationTimestamp first, then name.
bool older_monitor(const nlohmann::json& a, const nlohmann::json& b);

// lagpilot.io/paused-replicas: nullopt when absent; an error naming the annotation when it is not
// a whole number 0..100000.
Result<std::optional<int>> paused_replicas(const nlohmann::json& monitor);

// HPAs and ScaledObjects by the target they scale. Fed by the informers' handlers, read by
// reconciles; thread-safe.
class AutoscalerIndex {
 public:
  // An add, update or delete of `kind` (HorizontalPodAutoscaler, ScaledObject): `before` and
  // `after` are the object's old and new versions (nullptr: none). Returns the target keys whose
  // claimants changed.
  std::vector<std::string> update(const std::string& kind, const nlohmann::json* before,
                                  const nlohmann::json* after, const std::string& default_kind);
  // "Kind name" of every autoscaler of `target`, sorted.
  std::vector<std::string> autoscalers_of(const std::string& target) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::set<std::string>> by_target_;  // target key -> "Kind name"
};

// What a cached HPA or ScaledObject keeps: identity and spec.scaleTargetRef (the informers'
// transform).
void keep_scale_target_ref(nlohmann::json& autoscaler);

}  // namespace lagpilot::controllers
