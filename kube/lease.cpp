#include "kube/lease.h"

namespace lagpilot::kube {

LeaseRecord lease_from_json(const Json& lease) {
  LeaseRecord record;
  const Json spec = lease.value("spec", Json::object());
  record.holder_identity = spec.value("holderIdentity", "");
  record.lease_duration_seconds = spec.value("leaseDurationSeconds", 0);
  record.lease_transitions = spec.value("leaseTransitions", 0);
  if (spec.contains("acquireTime") && spec["acquireTime"].is_string()) {
    record.acquire_time = parse_rfc3339(spec["acquireTime"].get<std::string>());
  }
  if (spec.contains("renewTime") && spec["renewTime"].is_string()) {
    record.renew_time = parse_rfc3339(spec["renewTime"].get<std::string>());
  }
  record.resource_version = lease.value("/metadata/resourceVersion"_json_pointer, "");
  const Json labels = lease.value("/metadata/labels"_json_pointer, Json::object());
  for (const auto& [key, value] : labels.items())
    if (value.is_string()) record.labels[key] = value.get<std::string>();
  return record;
}

Json lease_to_json(const std::string& ns, const std::string& name, const LeaseRecord& record) {
  Json spec = {{"holderIdentity", record.holder_identity},
               {"leaseDurationSeconds", record.lease_duration_seconds},
               {"leaseTransitions", record.lease_transitions}};
  if (record.acquire_time) spec["acquireTime"] = format_rfc3339_micro(*record.acquire_time);
  if (record.renew_time) spec["renewTime"] = format_rfc3339_micro(*record.renew_time);
  Json metadata = {{"name", name}, {"namespace", ns}};
  if (!record.resource_version.empty()) metadata["resourceVersion"] = record.resource_version;
  if (!record.labels.empty()) metadata["labels"] = record.labels;
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", metadata},
          {"spec", spec}};
}

ApiResult<std::optional<LeaseRecord>> LeaseClient::get(const std::string& ns,
                                                       const std::string& name) {
  auto lease = client_.get(resources::kLeases, ns, name);
  if (!lease) {
    if (lease.error().reason == ApiReason::kNotFound) return std::optional<LeaseRecord>();
    return lease.error();
  }
  return std::optional<LeaseRecord>(lease_from_json(*lease));
}

ApiResult<LeaseRecord> LeaseClient::create(const std::string& ns, const std::string& name,
                                           const LeaseRecord& record) {
  LeaseRecord fresh = record;
  fresh.resource_version.clear();
  auto created = client_.create(resources::kLeases, ns, lease_to_json(ns, name, fresh));
  if (!created) return created.error();
  return lease_from_json(*created);
}

ApiResult<LeaseRecord> LeaseClient::update(const std::string& ns, const std::string& name,
                                           const LeaseRecord& record) {
  auto updated = client_.update(resources::kLeases, ns, lease_to_json(ns, name, record));
  if (!updated) return updated.error();
  return lease_from_json(*updated);
}

}  // namespace lagpilot::kube
