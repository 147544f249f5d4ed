#pragma once
// Latency sources: the consumers' processing latency, read from a monitoring system
// (spec.latency.<kind>), for the depthLatency policy, alert rules and SLOs. Same shape as queue
// sources (sources/queue_source.h): a LatencySourceKind checks its member of spec.latency, names
// its credentials Secret, owns what its sources share, and creates one LatencySource per monitor.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

class LatencySource {
 public:
  virtual ~LatencySource() = default;
  // The latency in seconds at `now`. Errors: "LatencyNoData" (no value: unknown, not 0) or
  // "LatencyQueryFailed". Blocks at most about the source's timeout. Thread-safe.
  virtual Result<double> query(WallTime now) = 0;
  // For logs and status messages; no credentials.
  virtual std::string describe() const = 0;
};

struct CheckedLatencySpec {
  std::string metric_name;  // the name status.metrics.latency, alerts and SLOs use
  std::optional<SecretReference> credentials;
};

class LatencySourceKind {
 public:
  virtual ~LatencySourceKind() = default;
  virtual std::string name() const = 0;
  // Checks spec.latency.<name()>; errors name the field.
  virtual Result<CheckedLatencySpec> check(const nlohmann::json& kind_spec) const = 0;
  virtual Result<std::unique_ptr<LatencySource>> create(const nlohmann::json& kind_spec,
                                                        const SourceCredentials& credentials) = 0;
};

}  // namespace lagpilot
