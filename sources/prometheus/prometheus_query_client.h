#pragma once
// The Prometheus HTTP API client that the Prometheus sources share: spec.latency.prometheus
// (prometheus_latency.h) and spec.source.prometheus (prometheus_queue_source.h). One instant query
// (POST <serverUrl>/api/v1/query) per call; the answer comes back as its samples, and each source
// decides what a sample count, NaN or Inf means for it. cpprestsdk stays in the .cpp.
//
// Errors (messages name the server, never credentials):
//   kPrometheusUnreachable - no answer: refused, no TLS handshake, nothing within the timeout;
//   kPrometheusQueryFailed - an answer that is no result: HTTP or PromQL error, a range vector, a
//                            string, malformed JSON or a sample value that is not a number.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/outage_gate.h"
#include "util/result.h"

namespace lagpilot {

inline constexpr char kPrometheusUnreachable[] = "PrometheusUnreachable";
inline constexpr char kPrometheusQueryFailed[] = "PrometheusQueryFailed";

// Checks an http(s) base URL (no credentials, query or fragment); returns it without trailing
// slashes. Errors: Error{"InvalidSpec", "<field_path>: ..."}.
Result<std::string> check_prometheus_server_url(std::string url, const std::string& field_path);

// What a Prometheus server is called with, from the keys of an authSecretRef Secret: token
// (Bearer), or username and password (basic auth); optional ca.crt (PEM, added to the system
// roots).
struct PrometheusCredentials {
  std::string secret_name;    // for messages: "check the credentials in Secret <name>"
  std::string authorization;  // the Authorization header's value; never logged
  std::string ca_pem;
};

// `field_path` names authSecretRef in errors, e.g. "spec.source.prometheus.authSecretRef".
// Errors: Error{"InvalidCredentials", "<field_path>: Secret <name>: ..."}, without the values.
Result<PrometheusCredentials> prometheus_credentials(
    const std::string& field_path, const std::string& secret_name,
    const std::map<std::string, std::string>& secret_values);

// One sample of an instant query's answer. A scalar answer is one sample without labels.
struct PrometheusSample {
  nlohmann::json labels = nlohmann::json::object();
  double value = 0;  // may be NaN or +-Inf: the caller decides what that means
  WallTime time;     // the sample's timestamp as the server gave it
};

struct PrometheusAnswer {
  std::vector<PrometheusSample> samples;
  bool scalar = false;
};

// {job="x", instance="y"}, for messages about unexpected series.
std::string prometheus_labels_text(const nlohmann::json& labels);
// `text` on one line, at most `limit` characters ("..." when cut).
std::string prometheus_one_line(std::string text, std::size_t limit = 300);

// One server and credential set; thread-safe, shared by every source that queries them.
class PrometheusQueryClient {
 public:
  // `gate` is shared by every client of the same server URL (util/outage_gate.h): while the server
  // does not answer, one query at a time waits for it and the others fail at once.
  static Result<std::shared_ptr<PrometheusQueryClient>> create(const std::string& server_url,
                                                               PrometheusCredentials credentials,
                                                               std::shared_ptr<OutageGate> gate);
  ~PrometheusQueryClient();
  PrometheusQueryClient(const PrometheusQueryClient&) = delete;
  PrometheusQueryClient& operator=(const PrometheusQueryClient&) = delete;

  // Evaluates `promql` at `at` (the instant query's time parameter). Returns within about
  // `timeout` (real time: it bounds network I/O), which is also sent as the query's timeout.
  Result<PrometheusAnswer> instant_query(const std::string& promql, WallTime at,
                                         std::chrono::milliseconds timeout);

  const std::string& server_url() const;

  class Impl;

 private:
  explicit PrometheusQueryClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The clients of one kind (or of several kinds, when shared): one per server URL and credential
// set, alive while a source holds it, and one outage gate per server URL. Thread-safe.
class PrometheusClientPool {
 public:
  Result<std::shared_ptr<PrometheusQueryClient>> client_for(
      const std::string& server_url, const PrometheusCredentials& credentials);
  // The outage gate of a server URL, shared by its clients.
  std::shared_ptr<OutageGate> gate_for(const std::string& server_url);
  // Clients alive now (tests check sharing and release with it).
  int live_clients() const;

 private:
  mutable std::mutex mutex_;
  // Keyed by URL, then by a digest of the credentials (the values themselves are not kept twice).
  std::map<std::string, std::map<std::string, std::weak_ptr<PrometheusQueryClient>>> clients_;
  std::map<std::string, std::weak_ptr<OutageGate>> gates_;
};

}  // namespace lagpilot
