#include "metrics/operator_metrics.h"

#include "metrics/exemplar_store.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <set>
#include <vector>

namespace lagpilot::metrics {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

namespace {

Histogram::BucketBoundaries latency_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace

struct OperatorMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : reconcile_total(prometheus::BuildCounter()
                            .Name("lagpilot_reconcile_total")
                            .Help("Reconciles of QueueMonitors by result (ok, requeue, error).")
                            .Register(r)),
        reconcile_duration(prometheus::BuildHistogram()
                               .Name("lagpilot_reconcile_duration_seconds")
                               .Help("Time one reconcile took, source poll included.")
                               .Register(r)),
        workqueue_depth(prometheus::BuildGauge()
                            .Name("lagpilot_workqueue_depth")
                            .Help("Keys ready to be reconciled now.")
                            .Register(r)),
        status_writes_pending(prometheus::BuildGauge()
                                  .Name("lagpilot_status_writes_pending")
                                  .Help("QueueMonitors whose status write waits or is in flight.")
                                  .Register(r)),
        workqueue_adds(prometheus::BuildCounter()
                           .Name("lagpilot_workqueue_adds_total")
                           .Help("Keys added to the work queue.")
                           .Register(r)),
        workqueue_retries(prometheus::BuildCounter()
                              .Name("lagpilot_workqueue_retries_total")
                              .Help("Keys requeued with backoff after a failure.")
                              .Register(r)),
        workqueue_wait(prometheus::BuildHistogram()
                           .Name("lagpilot_workqueue_wait_seconds")
                           .Help("Time a key waited between becoming ready and being processed.")
                           .Register(r)),
        kube_requests(prometheus::BuildCounter()
                          .Name("lagpilot_kube_requests_total")
                          .Help("Kubernetes API requests by verb and HTTP code (0: no answer).")
                          .Register(r)),
        kube_request_duration(prometheus::BuildHistogram()
                                  .Name("lagpilot_kube_request_duration_seconds")
                                  .Help("Kubernetes API request latency by verb.")
                                  .Register(r)),
        source_polls(prometheus::BuildCounter()
                         .Name("lagpilot_source_polls_total")
                         .Help("Queue source polls by source kind and result.")
                         .Register(r)),
        source_errors(prometheus::BuildCounter()
                          .Name("lagpilot_source_poll_errors_total")
                          .Help("Failed queue source polls by source kind and reason.")
                          .Register(r)),
        source_duration(prometheus::BuildHistogram()
                            .Name("lagpilot_source_poll_duration_seconds")
                            .Help("Time one queue source poll took.")
                            .Register(r)),
        leader(prometheus::BuildGauge()
                   .Name("lagpilot_leader")
                   .Help("1 while this process holds the leader Lease (or runs without leader "
                         "election).")
                   .Register(r)),
        build_info(prometheus::BuildGauge()
                       .Name("lagpilot_build_info")
                       .Help("Build information; always 1.")
                       .Register(r)),
        consumer_lag(prometheus::BuildGauge()
                         .Name("lagpilot_queue_consumer_lag_messages")
                         .Help("Messages the consumer group is behind, summed over partitions.")
                         .Register(r)),
        queue_depth(prometheus::BuildGauge()
                        .Name("lagpilot_queue_depth_messages")
                        .Help("Messages waiting in the queue.")
                        .Register(r)),
        lag_seconds(prometheus::BuildGauge()
                        .Name("lagpilot_queue_lag_seconds")
                        .Help("Age of the oldest unconsumed message.")
                        .Register(r)),
        ingress_rate(prometheus::BuildGauge()
                         .Name("lagpilot_queue_ingress_rate")
                         .Help("Messages arriving per second, between the last two polls.")
                         .Register(r)),
        egress_rate(prometheus::BuildGauge()
                        .Name("lagpilot_queue_egress_rate")
                        .Help("Messages consumed per second, between the last two polls.")
                        .Register(r)),
        consumers(prometheus::BuildGauge()
                      .Name("lagpilot_queue_consumers")
                      .Help("Members of the consumer group.")
                      .Register(r)),
        partitions(prometheus::BuildGauge()
                       .Name("lagpilot_queue_partitions")
                       .Help("Partitions of the topic.")
                       .Register(r)),
        latency(prometheus::BuildGauge()
                    .Name("lagpilot_processing_latency_seconds")
                    .Help("Processing latency read from spec.latency (e.g. p95).")
                    .Register(r)),
        replicas_current(prometheus::BuildGauge()
                             .Name("lagpilot_replicas_current")
                             .Help("Replicas of the target workload.")
                             .Register(r)),
        replicas_desired(prometheus::BuildGauge()
                             .Name("lagpilot_replicas_desired")
                             .Help("Replicas lagpilot wants (in DryRun, would set).")
                             .Register(r)),
        health(prometheus::BuildGauge()
                   .Name("lagpilot_health_status")
                   .Help("0 Healthy, 1 Degraded, 2 Unhealthy, 3 Unknown.")
                   .Register(r)),
        scaling_actions(prometheus::BuildCounter()
                            .Name("lagpilot_scaling_actions_total")
                            .Help("Scaling actions taken, by direction (up, down).")
                            .Register(r)),
        alerts_firing(prometheus::BuildGauge()
                          .Name("lagpilot_alerts_firing")
                          .Help("Alerts firing, by severity.")
                          .Register(r)),
        slo_budget(
            prometheus::BuildGauge()
                .Name("lagpilot_slo_error_budget_remaining_ratio")
                .Help("Error budget left over the SLO window, 0..1 (negative when overspent).")
                .Register(r)),
        slo_burn(prometheus::BuildGauge()
                     .Name("lagpilot_slo_burn_rate")
                     .Help("Error-budget burn rate over a window (1 = exactly on budget).")
                     .Register(r)),
        partition_lag(prometheus::BuildGauge()
                          .Name("lagpilot_partition_consumer_lag_messages")
                          .Help("Messages the consumer group is behind on one partition "
                                "(--per-partition-metrics).")
                          .Register(r)) {}

  Family<Counter>& reconcile_total;
  Family<Histogram>& reconcile_duration;
  Family<Gauge>& workqueue_depth;
  Family<Gauge>& status_writes_pending;
  Family<Counter>& workqueue_adds;
  Family<Counter>& workqueue_retries;
  Family<Histogram>& workqueue_wait;
  Family<Counter>& kube_requests;
  Family<Histogram>& kube_request_duration;
  Family<Counter>& source_polls;
  Family<Counter>& source_errors;
  Family<Histogram>& source_duration;
  Family<Gauge>& leader;
  Family<Gauge>& build_info;
  Family<Gauge>& consumer_lag;
  Family<Gauge>& queue_depth;
  Family<Gauge>& lag_seconds;
  Family<Gauge>& ingress_rate;
  Family<Gauge>& egress_rate;
  Family<Gauge>& consumers;
  Family<Gauge>& partitions;
  Family<Gauge>& latency;
  Family<Gauge>& replicas_current;
  Family<Gauge>& replicas_desired;
  Family<Gauge>& health;
  Family<Counter>& scaling_actions;
  Family<Gauge>& alerts_firing;
  Family<Gauge>& slo_budget;
  Family<Gauge>& slo_burn;
  Family<Gauge>& partition_lag;  // empty (so not exposed) without --per-partition-metrics
};

// Every series of one monitor, so that deleting the monitor removes them all.
struct OperatorMetrics::MonitorSeries {
  Labels labels;
  std::vector<std::pair<Family<Gauge>*, Gauge*>> gauges;
  std::vector<std::pair<Family<Counter>*, Counter*>> counters;
  std::map<std::string, Gauge*> by_key;
  std::map<std::string, Counter*> counters_by_key;

  Gauge& gauge(Family<Gauge>& family, const std::string& key, const Labels& extra = {}) {
    auto it = by_key.find(key);
    if (it != by_key.end()) return *it->second;
    Labels all = labels;
    all.insert(extra.begin(), extra.end());
    Gauge& created = family.Add(all);
    gauges.emplace_back(&family, &created);
    by_key[key] = &created;
    return created;
  }
  // Drops every gauge whose key starts with `prefix` and is not in `keep`.
  void drop_gauges_except(const std::string& prefix, const std::set<std::string>& keep) {
    std::vector<std::string> stale;
    for (auto it = by_key.lower_bound(prefix);
         it != by_key.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      if (!keep.count(it->first)) stale.push_back(it->first);
    }
    for (const auto& key : stale) drop_gauge(key);
  }
  void drop_gauge(const std::string& key) {
    auto it = by_key.find(key);
    if (it == by_key.end()) return;
    for (auto g = gauges.begin(); g != gauges.end(); ++g) {
      if (g->second == it->second) {
        g->first->Remove(g->second);
        gauges.erase(g);
        break;
      }
    }
    by_key.erase(it);
  }
  Counter& counter(Family<Counter>& family, const std::string& key, const Labels& extra) {
    auto it = counters_by_key.find(key);
    if (it != counters_by_key.end()) return *it->second;
    Labels all = labels;
    all.insert(extra.begin(), extra.end());
    Counter& created = family.Add(all);
    counters.emplace_back(&family, &created);
    counters_by_key[key] = &created;
    return created;
  }
  void remove_all() {
    for (auto& [family, gauge] : gauges) family->Remove(gauge);
    for (auto& [family, counter] : counters) family->Remove(counter);
    gauges.clear();
    counters.clear();
    by_key.clear();
    counters_by_key.clear();
  }
};

OperatorMetrics::OperatorMetrics(std::shared_ptr<prometheus::Registry> registry,
                                 const std::string& version, bool per_partition_metrics,
                                 ExemplarStore* exemplars)
    : registry_(std::move(registry)),
      per_partition_(per_partition_metrics),
      exemplars_(exemplars),
      families_(std::make_unique<Families>(*registry_)) {
  families_->build_info.Add({{"version", version}}).Set(1);
  families_->leader.Add({}).Set(0);
  families_->workqueue_depth.Add({}).Set(0);
  families_->status_writes_pending.Add({}).Set(0);
}

// The series stay in the registry (which owns them; it is discarded with the operator): removing
// them one by one costs a scan of the family each (prometheus-cpp's Family::Remove), minutes at
// 10,000 monitors, and held up the operator's exit after SIGTERM.
OperatorMetrics::~OperatorMetrics() = default;

std::shared_ptr<prometheus::Registry> OperatorMetrics::registry() const { return registry_; }

void OperatorMetrics::reconcile_finished(const std::string& result, double seconds,
                                         const std::string& trace_id) {
  families_->reconcile_total.Add({{"result", result}}).Increment();
  const auto buckets = latency_buckets();
  families_->reconcile_duration.Add({}, buckets).Observe(seconds);
  if (exemplars_ && !trace_id.empty())
    exemplars_->record("lagpilot_reconcile_duration_seconds", {}, buckets, seconds, trace_id);
}

void OperatorMetrics::workqueue_added() { families_->workqueue_adds.Add({}).Increment(); }
void OperatorMetrics::workqueue_retried() { families_->workqueue_retries.Add({}).Increment(); }
void OperatorMetrics::workqueue_waited(double seconds) {
  families_->workqueue_wait.Add({}, latency_buckets()).Observe(seconds);
}
void OperatorMetrics::set_status_writes_pending(double monitors) {
  families_->status_writes_pending.Add({}).Set(monitors);
}

void OperatorMetrics::set_workqueue_depth(double depth) {
  families_->workqueue_depth.Add({}).Set(depth);
}

void OperatorMetrics::kube_request(const std::string& verb, int code, double seconds) {
  families_->kube_requests.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
  families_->kube_request_duration.Add({{"verb", verb}}, latency_buckets()).Observe(seconds);
}

void OperatorMetrics::source_polled(const std::string& source, bool ok, const std::string& reason,
                                    double seconds) {
  families_->source_polls.Add({{"source", source}, {"result", ok ? "ok" : "error"}}).Increment();
  if (!ok)
    families_->source_errors
        .Add({{"source", source}, {"reason", reason.empty() ? "unknown" : reason}})
        .Increment();
  families_->source_duration.Add({{"source", source}}, latency_buckets()).Observe(seconds);
}

void OperatorMetrics::set_leader(bool leader) { families_->leader.Add({}).Set(leader ? 1 : 0); }

void OperatorMetrics::set_monitor(const MonitorValues& values) {
  std::lock_guard lock(mutex_);
  auto& slot = monitors_[values.ns + "/" + values.name];
  if (!slot) {
    slot = std::make_unique<MonitorSeries>();
    slot->labels = {{"namespace", values.ns}, {"name", values.name}, {"source", values.source}};
  }
  MonitorSeries& series = *slot;
  auto set_optional = [&](Family<Gauge>& family, const char* key,
                          const std::optional<double>& value) {
    if (value) {
      series.gauge(family, key).Set(*value);
    } else {
      series.drop_gauge(key);  // unknown is absent, never a zero that looks healthy
    }
  };
  set_optional(families_->consumer_lag, "lag", values.consumer_lag);
  set_optional(families_->queue_depth, "depth", values.queue_depth);
  set_optional(families_->lag_seconds, "lag_seconds", values.lag_seconds);
  set_optional(families_->ingress_rate, "ingress", values.ingress_rate);
  set_optional(families_->egress_rate, "egress", values.egress_rate);
  set_optional(families_->consumers, "consumers", values.consumers);
  set_optional(families_->partitions, "partitions", values.partitions);
  set_optional(families_->latency, "latency", values.latency_seconds);
  if (per_partition_) {
    // Partitions that disappeared (or all of them, when the lag is unknown) lose their series.
    std::set<std::string> seen;
    if (values.partition_lags) {
      for (const auto& [partition, lag] : *values.partition_lags) {
        std::string id = std::to_string(partition);
        std::string key = "partition_lag/" + id;
        series.gauge(families_->partition_lag, key, {{"partition", id}}).Set(lag);
        seen.insert(key);
      }
    }
    series.drop_gauges_except("partition_lag/", seen);
  }
  series.gauge(families_->replicas_current, "current").Set(values.replicas_current);
  series.gauge(families_->replicas_desired, "desired").Set(values.replicas_desired);
  series.gauge(families_->health, "health").Set(values.health);
}

void OperatorMetrics::scaled(const std::string& ns, const std::string& name,
                             const std::string& source, bool up) {
  std::lock_guard lock(mutex_);
  auto& slot = monitors_[ns + "/" + name];
  if (!slot) {
    slot = std::make_unique<MonitorSeries>();
    slot->labels = {{"namespace", ns}, {"name", name}, {"source", source}};
  }
  std::string direction = up ? "up" : "down";
  slot->counter(families_->scaling_actions, "scale_" + direction, {{"direction", direction}})
      .Increment();
}

void OperatorMetrics::set_alerts_firing(const std::string& ns, const std::string& name,
                                        const std::string& severity, double count) {
  std::lock_guard lock(mutex_);
  auto it = monitors_.find(ns + "/" + name);
  if (it == monitors_.end()) return;
  // A severity that has never fired for the monitor has no series: most monitors never fire most
  // severities, and five zeros a monitor were a third of its series. Once it fired it stays (0
  // when none fire), so a resolved alert reads 0, not stale.
  const std::string key = "alerts_" + severity;
  if (count == 0 && !it->second->by_key.count(key)) return;
  it->second->gauge(families_->alerts_firing, key, {{"severity", severity}}).Set(count);
}

void OperatorMetrics::set_slo(const std::string& ns, const std::string& name,
                              const std::string& slo, double budget_remaining_ratio,
                              const std::map<std::string, double>& burn_rates) {
  std::lock_guard lock(mutex_);
  auto it = monitors_.find(ns + "/" + name);
  if (it == monitors_.end()) return;
  it->second->gauge(families_->slo_budget, "slo_budget_" + slo, {{"slo", slo}})
      .Set(budget_remaining_ratio);
  for (const auto& [window, rate] : burn_rates) {
    it->second
        ->gauge(families_->slo_burn, "slo_burn_" + slo + "_" + window,
                {{"slo", slo}, {"window", window}})
        .Set(rate);
  }
}

void OperatorMetrics::remove_monitor(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = monitors_.find(ns + "/" + name);
  if (it == monitors_.end()) return;
  it->second->remove_all();
  monitors_.erase(it);
}

}  // namespace lagpilot::metrics
