#include "controllers/poll_step.h"

namespace lagpilot::controllers {

namespace m = alerts::metric;

PollInput poll_input(const Result<QueueSnapshot>& queue,
                     const std::optional<std::string>& latency_metric,
                     std::optional<double> latency_seconds, WallTime now, int current_replicas,
                     bool paused) {
  PollInput input;
  scaler::Observation& observation = input.observation;
  observation.time = now;
  if (queue) {
    const QueueSnapshot& s = *queue;
    observation.consumer_lag = s.consumer_lag;
    observation.queue_depth = s.queue_depth;
    observation.lag_seconds = s.lag_seconds;
    observation.max_useful_consumers = s.max_useful_consumers.value_or(0);
    observation.consumers = s.consumers;
    observation.partitions_with_backlog = s.partitions_with_backlog;
    observation.ingress_rate = s.ingress_rate;
    observation.egress_rate = s.egress_rate;
    input.progress_position = s.progress_position;
    input.partitions = s.partitions;
  } else {
    observation.ok = false;
    observation.error = queue.error().message;
  }
  observation.latency_seconds = latency_seconds;
  input.latency_metric = latency_metric;
  input.current_replicas = current_replicas;
  input.paused = paused;
  return input;
}

alerts::MetricSample metric_sample(const PollInput& input, const scaler::ScalingSpec& scaling) {
  const scaler::Observation& o = input.observation;
  alerts::MetricSample sample;
  sample.set(m::kReplicas, input.current_replicas);
  if (input.latency_metric && o.latency_seconds)
    sample.set(*input.latency_metric, o.latency_seconds);
  bool at_max = input.current_replicas >= scaling.max_replicas;
  if (!o.ok) {
    sample.source_reachable = false;
    sample.source_error = o.error;
    sample.replicas_at_max = at_max;
    return sample;
  }
  if (o.consumer_lag) sample.set(m::kConsumerLag, static_cast<double>(*o.consumer_lag));
  if (o.queue_depth) sample.set(m::kQueueDepth, static_cast<double>(*o.queue_depth));
  sample.set(m::kLagSeconds, o.lag_seconds);
  if (input.partitions) sample.set(m::kPartitions, *input.partitions);
  if (o.consumers) sample.set(m::kConsumers, *o.consumers);
  sample.set(m::kIngressRate, o.ingress_rate);
  sample.set(m::kEgressRate, o.egress_rate);
  // Past the most consumers the queue has work for, more replicas cannot help.
  if (o.max_useful_consumers > 0 && input.current_replicas >= o.max_useful_consumers) at_max = true;
  sample.replicas_at_max = at_max;
  sample.committed_offset_total = input.progress_position;
  return sample;
}

namespace {

void trace_evaluation(tracing::SpanScope& span, const alerts::Evaluation& evaluation) {
  int firing = 0;
  for (const auto& alert : evaluation.active) firing += alert.state == alerts::AlertState::kFiring;
  span.set("lagpilot.alerts.active", evaluation.active.size())
      .set("lagpilot.alerts.firing", firing)
      .set("lagpilot.alerts.transitions", evaluation.transitions.size())
      .set("lagpilot.slos", evaluation.slos.size())
      .set("lagpilot.health", std::string(alerts::to_string(evaluation.health.health)))
      .set("lagpilot.hold_scale_up", evaluation.hold_scale_up);
}

void trace_decision(tracing::SpanScope& span, const PollInput& input,
                    const scaler::Decision& decision) {
  const scaler::Observation& o = input.observation;
  span.set("lagpilot.source.ok", o.ok).set("lagpilot.replicas.current", decision.current_replicas);
  if (o.consumer_lag) span.set("lagpilot.input.consumer_lag", *o.consumer_lag);
  if (o.queue_depth) span.set("lagpilot.input.queue_depth", *o.queue_depth);
  if (o.lag_seconds) span.set("lagpilot.input.lag_seconds", *o.lag_seconds);
  if (o.ingress_rate) span.set("lagpilot.input.ingress_rate", *o.ingress_rate);
  if (o.egress_rate) span.set("lagpilot.input.egress_rate", *o.egress_rate);
  if (o.latency_seconds) span.set("lagpilot.input.latency_seconds", *o.latency_seconds);
  span.set("lagpilot.decision.rule", decision.decided_by)
      .set("lagpilot.decision.guard_rail", scaler::to_string(decision.guard_rail))
      .set("lagpilot.replicas.desired", decision.desired_replicas)
      .set("lagpilot.decision.reason", decision.reason);
  if (decision.recommended_replicas) {
    span.set("lagpilot.replicas.recommended", *decision.recommended_replicas);
  }
  if (!decision.guard_rail_detail.empty()) {
    span.set("lagpilot.decision.guard_rail_detail", decision.guard_rail_detail);
  }
}

}  // namespace

PollOutcome PollStep::run(const scaler::ScalingSpec& scaling, const PollInput& input,
                          tracing::Tracer* tracer) {
  const scaler::Observation& observation = input.observation;
  tracing::SpanScope evaluate_span(tracer, "evaluate_alerts");
  const alerts::Evaluation& evaluation =
      alerting_.evaluate(metric_sample(input, scaling), observation.time);
  trace_evaluation(evaluate_span, evaluation);
  evaluate_span.end();
  tracing::SpanScope decide_span(tracer, "decide");
  scaler::Decision decision =
      scaler::decide(scaling, observation, input.current_replicas, scaler_, input.paused);
  if (evaluation.hold_scale_up) scaler::hold_scale_up(decision, evaluation.hold_scale_up_reason);
  trace_decision(decide_span, input, decision);

  PollAction action = PollAction::kNone;
  if (scaling.mode == scaler::Mode::kActive) {
    if (decision.is_change()) action = PollAction::kScale;
  } else if (!input.paused) {  // DryRun: each new would-be value once
    if (decision.replicas_if_unpaused != input.current_replicas &&
        last_dry_run_replicas_ != decision.replicas_if_unpaused) {
      action = PollAction::kRecordDryRun;
    }
    last_dry_run_replicas_ = decision.replicas_if_unpaused;
  }
  return PollOutcome{evaluation, std::move(decision), action};
}

void PollStep::scaled(const scaler::Decision& decision) {
  scaler_.record_scale(decision.time, decision.current_replicas, decision.desired_replicas);
}

}  // namespace lagpilot::controllers
