#pragma once
// Processing latency of a monitor's consumers, read from Prometheus (spec.latency.prometheus):
// one PromQL instant query through the HTTP API (GET <serverUrl>/api/v1/query) per poll.
//
// Failures are errors, never a zero that looks healthy:
//   "LatencyNoData"      - the query returned no sample, or NaN (e.g. no observations in the
//                          rate window); the latency is unknown.
//   "LatencyQueryFailed" - the server is unreachable, timed out, answered with an HTTP or PromQL
//                          error (syntax, execution), returned more than one series, a range
//                          vector, a string, an infinite value or a body that is not the API's
//                          JSON.
// Messages name the server and the problem, never credentials. The HTTP side is the shared
// PrometheusQueryClient (prometheus_query_client.h), which keeps cpprestsdk in its .cpp.
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sources/latency_source.h"
#include "sources/prometheus/prometheus_query_client.h"
#include "util/clock.h"
#include "util/outage_gate.h"
#include "util/result.h"

namespace lagpilot {

// spec.latency.prometheus, checked. Defaults from the CRD.
struct PrometheusLatencySpec {
  std::string server_url;  // without a trailing '/', e.g. http://prometheus.monitoring:9090
  std::string query;
  std::string name = "latencyP95Seconds";
  std::chrono::seconds timeout{5};
  std::string auth_secret_name;  // empty: no authSecretRef
};

// Accepts spec.latency ({"prometheus": {...}}) or the spec.latency.prometheus object itself.
// Errors: code "InvalidSpec", message starting with the field path, e.g.
// "spec.latency.prometheus.serverUrl: must start with http:// or https://".
Result<PrometheusLatencySpec> parse_prometheus_latency_spec(const nlohmann::json& latency_spec);

class PrometheusLatencySource final : public LatencySource {
 public:
  // `latency_spec` as for parse_prometheus_latency_spec. `secret_values` holds the keys of the
  // Secret named by authSecretRef (token, or username and password; optional ca.crt); empty when
  // there is none. TLS certificates are always verified (system roots plus ca.crt when given).
  // `gate`, shared by the sources of one server: while the server does not answer, one query at
  // a time waits for it and the others fail at once with the same message (util/outage_gate.h).
  static Result<std::unique_ptr<PrometheusLatencySource>> create(
      const nlohmann::json& latency_spec, const std::map<std::string, std::string>& secret_values,
      std::shared_ptr<OutageGate> gate = nullptr);
  // A source that queries through `client` (shared with other sources of the same server and
  // credentials).
  static std::unique_ptr<PrometheusLatencySource> create_with_client(
      PrometheusLatencySpec spec, std::shared_ptr<PrometheusQueryClient> client);

  ~PrometheusLatencySource() override;
  PrometheusLatencySource(const PrometheusLatencySource&) = delete;
  PrometheusLatencySource& operator=(const PrometheusLatencySource&) = delete;

  // Evaluates the query at `now` (the `time` parameter of the instant query) and returns the
  // single sample's value in seconds. Blocks at most about spec().timeout. Thread-safe.
  Result<double> query(WallTime now) override;

  // For logs and status messages: "prometheus http://host:9090 name=latencyP95Seconds
  // query=histogram_quantile(...)"; no credentials.
  std::string describe() const override;

  const PrometheusLatencySpec& spec() const;

  class Impl;

 private:
  explicit PrometheusLatencySource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The kind "prometheus" (spec.latency.prometheus). Its sources share one client per server URL and
// credential set, and one outage gate per server URL (PrometheusClientPool), with the queue
// sources of spec.source.prometheus when the pool is given to both.
class PrometheusLatencyKind final : public LatencySourceKind {
 public:
  explicit PrometheusLatencyKind(
      std::shared_ptr<PrometheusClientPool> clients = std::make_shared<PrometheusClientPool>())
      : clients_(std::move(clients)) {}
  std::string name() const override { return "prometheus"; }
  // metric_name: spec.latency.prometheus.name; credentials: authSecretRef.
  Result<CheckedLatencySpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<LatencySource>> create(const nlohmann::json& kind_spec,
                                                const SourceCredentials& credentials) override;

 private:
  std::shared_ptr<PrometheusClientPool> clients_;
};

}  // namespace lagpilot
