#include "alerts/alert_tracker.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::alerts {

std::string_view to_string(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "?";
}

bool is_more_extreme(double candidate, double peak, Op op, double threshold) {
  switch (op) {
    case Op::kGreater:
    case Op::kGreaterOrEqual:
      return candidate > peak;
    case Op::kLess:
    case Op::kLessOrEqual:
      return candidate < peak;
    case Op::kNotEqual:
      return std::fabs(candidate - threshold) > std::fabs(peak - threshold);
    case Op::kEqual:
      return false;
  }
  return false;
}

AlertTracker::AlertTracker(AlertIdentity identity, std::size_t history_limit)
    : identity_(std::move(identity)),
      history_limit_(std::clamp<std::size_t>(history_limit, 1, kMaxHistoryLimit)) {}

void AlertTracker::set_rules(std::vector<AlertRule> rules) {
  std::map<std::string, RuleState> kept;
  for (const auto& rule : rules) {
    auto it = states_.find(rule.name);
    if (it != states_.end()) kept.emplace(rule.name, std::move(it->second));
  }
  for (auto& [name, state] : states_) {
    if (kept.count(name) || state.state != AlertState::kFiring) continue;
    auto old_rule =
        std::find_if(rules_.begin(), rules_.end(),
                     [&name = name](const AlertRule& rule) { return rule.name == name; });
    if (old_rule != rules_.end()) orphans_.push_back({*old_rule, std::move(state)});
  }
  states_ = std::move(kept);
  rules_ = std::move(rules);
}

void AlertTracker::restore(const std::vector<ActiveAlert>& active,
                           const std::vector<ResolvedAlert>& history) {
  for (const auto& alert : active) {
    auto rule = std::find_if(rules_.begin(), rules_.end(), [&](const AlertRule& candidate) {
      return candidate.name == alert.name;
    });
    if (rule == rules_.end() || alert.state == AlertState::kInactive) continue;
    RuleState& state = states_[alert.name];
    state = RuleState{};
    state.state = alert.state;
    state.since = alert.since;
    state.value = alert.value;
    state.summary = alert.summary;
    state.subject = rule->primary();
    if (alert.state == AlertState::kFiring) {
      state.peak_value = alert.value;
      state.peak_summary = alert.summary;
    }
  }
  history_.assign(history.begin(), history.end());
  while (history_.size() > history_limit_) history_.pop_back();
}

std::string AlertTracker::render(const AlertRule& rule, const Condition& subject,
                                 std::optional<double> value) const {
  TemplateValues values;
  values.value = value;
  values.threshold = subject.threshold;
  values.metric = subject.metric;
  values.topic = identity_.topic;
  values.queue = identity_.queue;
  values.name = identity_.name;
  values.ns = identity_.ns;
  values.severity = std::string(to_string(rule.severity));
  return rule.summary.render(values);
}

void AlertTracker::fire(const AlertRule& rule, RuleState& state, WallTime now,
                        std::vector<AlertTransition>& transitions) {
  state.state = AlertState::kFiring;
  state.since = now;
  state.clear_since.reset();
  state.peak_value = state.value;
  state.peak_summary = state.summary;
  AlertTransition transition;
  transition.kind = AlertTransition::Kind::kFired;
  transition.name = rule.name;
  transition.severity = rule.severity;
  transition.at = now;
  transition.fired_at = now;
  transition.value = state.value;
  transition.summary = state.summary;
  transition.labels = alert_labels(rule, identity_.ns, identity_.name, identity_.topic);
  transition.origin = rule.origin;
  transitions.push_back(std::move(transition));
}

void AlertTracker::resolve(const AlertRule& rule, RuleState& state, WallTime now,
                           std::vector<AlertTransition>& transitions) {
  ResolvedAlert resolved;
  resolved.name = rule.name;
  resolved.severity = rule.severity;
  resolved.fired_at = state.since;
  resolved.resolved_at = now;
  resolved.peak_value = state.peak_value;
  resolved.summary = state.peak_summary;
  history_.push_front(resolved);
  while (history_.size() > history_limit_) history_.pop_back();

  AlertTransition transition;
  transition.kind = AlertTransition::Kind::kResolved;
  transition.name = rule.name;
  transition.severity = rule.severity;
  transition.at = now;
  transition.fired_at = state.since;
  transition.value = state.peak_value;
  transition.summary = state.peak_summary;
  transition.labels = alert_labels(rule, identity_.ns, identity_.name, identity_.topic);
  transition.origin = rule.origin;
  transitions.push_back(std::move(transition));
  state = RuleState{};
}

void AlertTracker::step_rule(const AlertRule& rule, RuleState& state, const MetricValues& values,
                             WallTime now, std::vector<AlertTransition>& transitions) {
  const RuleVerdict verdict = evaluate_rule(rule, values);
  if (verdict.value) {
    state.value = verdict.value;
    state.subject = *verdict.subject;
    state.summary = render(rule, state.subject, state.value);
  }
  switch (verdict.truth) {
    case Truth::kUnknown:
      return;  // hold
    case Truth::kTrue:
      state.clear_since.reset();
      if (state.state == AlertState::kInactive) {
        if (rule.for_duration <= Duration::zero()) {
          fire(rule, state, now, transitions);
        } else {
          state.state = AlertState::kPending;
          state.since = now;
        }
      } else if (state.state == AlertState::kPending) {
        if (now - state.since >= rule.for_duration) fire(rule, state, now, transitions);
      } else if (state.value && (!state.peak_value ||
                                 is_more_extreme(*state.value, *state.peak_value, state.subject.op,
                                                 state.subject.threshold))) {
        state.peak_value = state.value;
        state.peak_summary = state.summary;
      }
      return;
    case Truth::kFalse:
      if (state.state == AlertState::kPending) {
        state = RuleState{};
      } else if (state.state == AlertState::kFiring) {
        if (!state.clear_since) state.clear_since = now;
        if (now - *state.clear_since >= rule.keep_firing_for)
          resolve(rule, state, now, transitions);
      }
      return;
  }
}

AlertTracker::Step AlertTracker::evaluate(const MetricValues& values, WallTime now) {
  Step step;
  for (auto& orphan : orphans_) resolve(orphan.rule, orphan.state, now, step.transitions);
  orphans_.clear();
  for (const auto& rule : rules_)
    step_rule(rule, states_[rule.name], values, now, step.transitions);
  step.active = active();
  return step;
}

std::vector<ActiveAlert> AlertTracker::active() const {
  std::vector<ActiveAlert> out;
  for (const auto& rule : rules_) {
    auto it = states_.find(rule.name);
    if (it == states_.end() || it->second.state == AlertState::kInactive) continue;
    const RuleState& state = it->second;
    out.push_back({rule.name, rule.severity, state.state, state.since, state.value, state.summary});
  }
  return out;
}

}  // namespace lagpilot::alerts
