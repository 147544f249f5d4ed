#pragma once
// A queue's backlog read from Prometheus (spec.source.prometheus): KEDA's "prometheus" trigger,
// the way to scale on anything with an exporter (SQS, Pub/Sub, a custom gauge). Per poll, one
// instant query for the depth (depthQuery) and, when set, one for the age of the oldest message
// (lagSecondsQuery), both evaluated at the poll's time through the client shared by every source
// of the same server and credentials (prometheus_query_client.h).
//
// What the snapshot holds: queue_depth = consumer_lag = the depth sample rounded to a whole
// number; lag_seconds from lagSecondsQuery (method "query"), else unknown; consumers from
// consumersQuery, else unknown. Rates, the most useful consumers and the progress position stay
// unknown (a depth gauge tells none of them):
// stall and rewind detection is off for this source, and the drainTime policy, which needs rates,
// applies its lagPerReplica rule (see docs/sources/prometheus.md).
//
// Errors (never a made-up zero; the poll fails and nothing scales on it):
//   "SourceNoData"      - depthQuery returned no sample, or NaN, or an answer older than
//                         kMaxAnswerAge: the depth is unknown.
//   "SourceUnreachable" - the server did not answer (refused, TLS, timeoutSeconds); while it does
//                         not, the other sources of that server fail at once (the outage gate).
//   "SourceQueryFailed" - an HTTP or PromQL error, several series where one is needed (the message
//                         names the field), a range vector, Inf, a negative value.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sources/prometheus/prometheus_query_client.h"
#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

// spec.source.prometheus, checked. Defaults from the CRD.
struct PrometheusQueueSpec {
  std::string server_url;  // without a trailing '/'
  std::string depth_query;
  std::string lag_seconds_query;  // empty: lagSeconds unknown
  std::string consumers_query;    // empty: consumers unknown
  std::chrono::seconds timeout{5};
  std::string auth_secret_name;  // empty: no authSecretRef

  // Errors: Error{"InvalidSpec", "spec.source.prometheus.<field>: ..."}.
  static Result<PrometheusQueueSpec> parse(const nlohmann::json& prometheus_spec);
};

// The label alerts and notifications carry for this source: "query" = depthQuery on one line with
// runs of whitespace collapsed; longer than kQueryLabelLength, its first characters, "...", and
// "#" with 8 hex digits of its FNV-1a hash, so that two long queries stay apart.
inline constexpr std::size_t kQueryLabelLength = 80;
std::string prometheus_query_label(const std::string& query);

// An answer whose sample is older than this (its timestamp before the poll's time) is stale: a
// caching query front end (Thanos, Cortex, Mimir) answered from an old evaluation.
inline constexpr std::chrono::seconds kMaxAnswerAge{60};

class PrometheusQueueSource final : public QueueSource {
 public:
  // `live`, when given, counts this source while it exists (the kind's live_sources()).
  PrometheusQueueSource(PrometheusQueueSpec spec, std::shared_ptr<PrometheusQueryClient> client,
                        Clock& clock, std::shared_ptr<std::atomic<int>> live = nullptr);
  ~PrometheusQueueSource() override;

  // The queries together take at most about spec.timeout (each gets what the ones before it
  // left).
  Result<QueueSnapshot> poll(WallTime now) override;
  // "prometheus http://prometheus:9090 depthQuery=sum(sqs_messages_visible{queue=\"orders\"})";
  // no credentials.
  std::string describe() const override;

  const PrometheusQueueSpec& spec() const { return spec_; }
  // The shared client this source queries through (tests check sharing with it).
  const PrometheusQueryClient& client() const { return *client_; }

 private:
  // One query's sample. value nullopt: none (no sample, NaN or a stale answer), and `what` says
  // which; otherwise `what` is "<where>: returned <value>", for messages about the value.
  struct OneSample {
    std::optional<double> value;
    std::string what;
  };
  // Errors: the server's (unreachable, PromQL), several series (naming `field` and suggesting
  // `aggregate_hint`), +-Inf ("not <noun>").
  Result<OneSample> one_sample(const std::string& field, const std::string& query, WallTime now,
                               std::chrono::milliseconds timeout, const std::string& aggregate_hint,
                               const std::string& noun);
  Result<double> depth(WallTime now, std::chrono::milliseconds timeout);
  Result<std::optional<double>> lag_seconds(WallTime now, std::chrono::milliseconds timeout);
  Result<std::optional<int>> consumers(WallTime now, std::chrono::milliseconds timeout);
  void log_transition(const Result<QueueSnapshot>& result);

  PrometheusQueueSpec spec_;
  std::shared_ptr<PrometheusQueryClient> client_;
  Clock& clock_;
  std::string description_;
  std::mutex mutex_;
  std::string last_outcome_;
  std::shared_ptr<std::atomic<int>> live_;
};

// The kind "prometheus" (spec.source.prometheus). Owns (or shares with spec.latency.prometheus)
// the client pool: one client per server URL and credential set, one outage gate per server URL.
class PrometheusQueueKind final : public SourceKind {
 public:
  // Times with `clock` (the poll's time budget), which must outlive the kind; nullptr: the
  // system clock. `clients` nullptr: a pool of its own.
  explicit PrometheusQueueKind(Clock* clock = nullptr,
                               std::shared_ptr<PrometheusClientPool> clients = nullptr);
  ~PrometheusQueueKind() override;

  std::string name() const override { return "prometheus"; }
  // Labels: query (prometheus_query_label). Credentials: authSecretRef (token, or username and
  // password; optional ca.crt).
  Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) override;
  int live_sources() const override { return live_sources_->load(); }

  PrometheusClientPool& clients() { return *clients_; }

 private:
  SystemClock system_clock_;
  Clock& clock_;
  std::shared_ptr<PrometheusClientPool> clients_;
  std::shared_ptr<std::atomic<int>> live_sources_;
};

}  // namespace lagpilot
