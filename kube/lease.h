#pragma once
// coordination.k8s.io/v1 Leases: the record leader election reads and writes.
#include <map>
#include <optional>
#include <string>

#include "kube/client.h"
#include "util/clock.h"

namespace lagpilot::kube {

struct LeaseRecord {
  std::string holder_identity;
  int lease_duration_seconds = 15;
  std::optional<WallTime> acquire_time;
  std::optional<WallTime> renew_time;
  int lease_transitions = 0;
  std::string resource_version;               // from the server; makes update conditional
  std::map<std::string, std::string> labels;  // metadata.labels (shard membership selects by them)
};

class LeaseClient {
 public:
  explicit LeaseClient(KubeClient& client) : client_(client) {}
  // nullopt when the Lease does not exist.
  ApiResult<std::optional<LeaseRecord>> get(const std::string& ns, const std::string& name);
  ApiResult<LeaseRecord> create(const std::string& ns, const std::string& name,
                                const LeaseRecord& record);
  // Conditional on record.resource_version: Conflict when another holder wrote first.
  ApiResult<LeaseRecord> update(const std::string& ns, const std::string& name,
                                const LeaseRecord& record);

 private:
  KubeClient& client_;
};

LeaseRecord lease_from_json(const Json& lease);
Json lease_to_json(const std::string& ns, const std::string& name, const LeaseRecord& record);

}  // namespace lagpilot::kube
