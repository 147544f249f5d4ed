#pragma once
// The alert state machine, per rule, evaluated once per poll with time passed in:
//
//   inactive --holds--> pending --holds for forSeconds--> firing --stops holding for
//   keepFiringForSeconds--> resolved (recorded in history, the rule is inactive again)
//
// - forSeconds 0: inactive -> firing on the first poll that holds (no pending poll).
// - pending that stops holding -> inactive, silently (no transition, no history), as Prometheus.
// - keepFiringForSeconds: after the first poll that does not hold, the alert keeps firing until a
//   poll that does not hold comes at least that long after it; a poll that holds again cancels it.
// - Unknown (the rule's metric is missing this poll): the state is held exactly. Inactive stays
//   inactive, pending stays pending with its since (it cannot fire on an unknown poll, but once
//   data is back and still holds, the time since pending counts), firing keeps firing (it cannot
//   resolve on an unknown poll, even past keepFiringFor). value and summary keep the last known.
// - since is when the alert entered its current state: pending since, or firing since (firedAt).
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alerts/condition.h"
#include "alerts/rules.h"
#include "util/clock.h"

namespace lagpilot::alerts {

enum class AlertState { kInactive, kPending, kFiring };
std::string_view to_string(AlertState state);  // "inactive", "pending", "firing"

// status.alerts[] entry.
struct ActiveAlert {
  std::string name;
  Severity severity = Severity::kMedium;
  AlertState state = AlertState::kPending;
  WallTime since;
  std::optional<double> value;  // the metric at the last poll it was known
  std::string summary;
};

// status.alertHistory[] entry.
struct ResolvedAlert {
  std::string name;
  Severity severity = Severity::kMedium;
  WallTime fired_at;
  WallTime resolved_at;
  std::optional<double> peak_value;  // most extreme value while firing, in the rule's direction
  std::string summary;               // rendered at the peak
};

// What to tell people: a Kubernetes Event, a notification, a metric.
struct AlertTransition {
  enum class Kind { kFired, kResolved };
  Kind kind = Kind::kFired;
  std::string name;
  Severity severity = Severity::kMedium;
  WallTime at;
  WallTime fired_at;                          // == at for kFired
  std::optional<double> value;                // kFired: the value; kResolved: the peak
  std::string summary;                        // kFired: current; kResolved: rendered at the peak
  std::map<std::string, std::string> labels;  // alert_labels(): the rule's plus lagpilot's
  RuleOrigin origin = RuleOrigin::kSpec;
};

// The QueueMonitor an alert belongs to: template values and labels.
struct AlertIdentity {
  std::string ns;
  std::string name;
  std::string topic;
  std::string queue;
};

class AlertTracker {
 public:
  static constexpr std::size_t kDefaultHistoryLimit = 20;
  static constexpr std::size_t kMaxHistoryLimit = 100;  // status.alertHistory maxItems

  explicit AlertTracker(AlertIdentity identity = {},
                        std::size_t history_limit = kDefaultHistoryLimit);

  // Replaces the rules. State carries over by rule name (a changed threshold keeps pending/firing
  // state and is re-evaluated next poll). A rule that is gone while firing resolves at the next
  // evaluate(); one that is gone while pending is dropped.
  void set_rules(std::vector<AlertRule> rules);
  void set_identity(AlertIdentity identity) { identity_ = std::move(identity); }

  // After an operator restart: status.alerts (pending/firing since, value, summary) and
  // status.alertHistory as written before. Entries naming no current rule are ignored; a restored
  // firing alert does not fire again (no duplicate transition). The peak restarts at the restored
  // value, and a keepFiringFor countdown in progress restarts at the first poll that does not hold.
  void restore(const std::vector<ActiveAlert>& active, const std::vector<ResolvedAlert>& history);

  struct Step {
    std::vector<ActiveAlert> active;  // pending and firing, in rule order
    std::vector<AlertTransition> transitions;
  };
  Step evaluate(const MetricValues& values, WallTime now);

  std::vector<ActiveAlert> active() const;
  const std::deque<ResolvedAlert>& history() const { return history_; }  // newest first
  const std::vector<AlertRule>& rules() const { return rules_; }

 private:
  struct RuleState {
    AlertState state = AlertState::kInactive;
    WallTime since;
    std::optional<WallTime> clear_since;  // firing, not holding since (keepFiringFor)
    std::optional<double> value;
    std::string summary;
    std::optional<double> peak_value;
    std::string peak_summary;
    Condition subject;  // what value and summary were last rendered for
  };
  struct Orphan {
    AlertRule rule;
    RuleState state;
  };

  void step_rule(const AlertRule& rule, RuleState& state, const MetricValues& values, WallTime now,
                 std::vector<AlertTransition>& transitions);
  void fire(const AlertRule& rule, RuleState& state, WallTime now,
            std::vector<AlertTransition>& transitions);
  void resolve(const AlertRule& rule, RuleState& state, WallTime now,
               std::vector<AlertTransition>& transitions);
  std::string render(const AlertRule& rule, const Condition& subject,
                     std::optional<double> value) const;

  AlertIdentity identity_;
  std::size_t history_limit_;
  std::vector<AlertRule> rules_;
  std::map<std::string, RuleState> states_;
  std::vector<Orphan> orphans_;
  std::deque<ResolvedAlert> history_;
};

// Whether `candidate` is more extreme than `peak` in the direction of `op` (> >=: larger; < <=:
// smaller; !=: farther from threshold; ==: never).
bool is_more_extreme(double candidate, double peak, Op op, double threshold);

}  // namespace lagpilot::alerts
