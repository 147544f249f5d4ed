#pragma once
// SLOs over the polled metrics: the share of good time over a rolling window, the error budget
// and burn rates, persisted compactly in status.slos[].buckets, and the multi-window
// multi-burn-rate alerts of the Google SRE workbook.
//
// Time accounting. Each poll is good, bad or unknown (metric missing). The interval from the
// previous poll to this one takes this poll's verdict. An interval longer than max_gap (3 poll
// intervals, at least 60 s), an unknown poll, and the time the operator was down are unknown:
// neither good nor bad, they count toward nothing (SLI and burn rates are over known time only;
// the budget is only spent by bad time).
//
// Storage. Two bucket series hold the same time at two resolutions: fine buckets of 1 minute for
// the last 6 h (lookbacks up to 6 h: 5m, 30m, 1h, 2h, 6h) and coarse buckets of width
// coarse_width(windowDays) (5 min for 1 day ... 3 h for 90 days, at most 720 per window) for the
// whole window (SLI, budget, lookbacks 1d, 3d). The current minute accumulates in an open bucket
// and joins both series when the minute ends. A lookback starting inside a bucket counts that
// bucket pro rata, so the 5 m burn rate is exact for the last 4-5 minutes and assumes the time in
// the oldest minute was evenly good/bad (at most 1 minute of 5 misattributed, when the verdict
// changed within that minute); 1d/3d are off by at most one coarse bucket the same way.
//
// Persistence. serialize() writes only closed minutes (time before the open bucket's start, T)
// plus T itself; restore() continues from T. After a restart the first poll accounts (T, now] only
// when it is within max_gap, so nothing is counted twice and a long outage is unknown.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/condition.h"
#include "alerts/metric_sample.h"
#include "alerts/rules.h"
#include "alerts/slo_buckets.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::alerts {

struct SloSpec {
  std::string name;
  Condition good_when;  // a poll is good when <metric> <op> <threshold>
  double objective_percent = 99;
  int window_days = 30;

  Duration window() const { return std::chrono::hours(24) * window_days; }
};

// One spec.slos item. Errors name the field: "spec.slos[0].objectivePercent: ...".
Result<SloSpec> parse_slo(const nlohmann::json& item, std::size_t index,
                          const MetricCatalog& catalog);

struct ParsedSlos {
  std::vector<SloSpec> slos;
  std::vector<Error> errors;
};
// Every spec.slos item; bad or duplicate items are skipped and reported.
ParsedSlos parse_slos(const nlohmann::json& slos, const MetricCatalog& catalog);

// Burn-rate lookbacks reported in status.slos[].burnRates, shortest first.
struct Lookback {
  std::string_view key;  // "5m", "30m", "1h", "2h", "6h", "1d", "3d"
  std::chrono::seconds length;
};
const std::vector<Lookback>& burn_rate_lookbacks();

enum class Verdict { kGood, kBad, kUnknown };

struct SloStatus {
  std::string name;
  std::optional<double> sli_percent;      // good / known time over the window; none without data
  double budget_remaining_percent = 100;  // of (100 - objective)% of the window; < 0 overspent
  double budget_remaining_seconds = 0;    // bad time still allowed in the window
  bool budget_exhausted = false;          // bad time >= the budget
  // By lookback key, only lookbacks no longer than the window with known time in them:
  // (bad / known time) / (1 - objective).
  std::vector<std::pair<std::string, double>> burn_rates;
  std::string buckets;  // serialize()

  std::optional<double> burn_rate(std::string_view key) const;
};

class SloTracker {
 public:
  static constexpr std::chrono::seconds kFineWidth{60};
  static constexpr std::chrono::hours kFineRetention{6};
  static constexpr std::size_t kMaxBucketsLength = 8192;  // status.slos[].buckets maxLength

  // max_gap: the longest interval between polls that still counts (see above).
  SloTracker(SloSpec spec, Duration max_gap);

  const SloSpec& spec() const { return spec_; }
  // Objective changes keep the data; metric, goodWhen or windowDays changes do not (same_measure).
  void set_objective(double objective_percent) { spec_.objective_percent = objective_percent; }
  void set_max_gap(Duration max_gap);

  // Once per poll. Times not after the last one are ignored.
  void record(WallTime now, Verdict verdict);
  SloStatus status(WallTime now) const;

  // Good/bad time over [now - lookback, now], lookback <= 6 h from the fine series, else coarse.
  TimeSum tally(WallTime now, Duration lookback) const;

  // The compact record for status.slos[].buckets, at most kMaxBucketsLength characters:
  //   v1;<definition hash>;t<T>;f<fine width s>@<first start>:<fine buckets>;
  //   c<coarse width s>@<first start>:<coarse buckets>
  // (times in Unix seconds; buckets as encode_tallies: 1 digit per value fine, 3 coarse).
  std::string serialize() const;
  // Continues from a serialize() output. Refused (state unchanged) when it is malformed, was made
  // for another definition (metric, goodWhen, windowDays), or this tracker already recorded polls.
  Status restore(std::string_view buckets);

  // Whether `other` measures the same thing (metric, goodWhen, windowDays).
  bool same_measure(const SloSpec& other) const;

  // The coarse bucket width for a window: the smallest of 5, 10, 15, 20, 30, 60, 90, 120, 180
  // minutes that gives at most 720 buckets per window.
  static std::chrono::seconds coarse_width(int window_days);

 private:
  void close_open_bucket();
  void move_open_bucket_to(std::int64_t ms);
  std::string definition_hash() const;

  SloSpec spec_;
  std::int64_t max_gap_ms_;
  BucketSeries fine_;
  BucketSeries coarse_;
  std::int64_t open_start_ms_ = 0;
  TimeTally open_;
  std::optional<std::int64_t> last_ms_;
  bool recorded_ = false;
};

// The verdict of one poll for `spec`: unknown when the metric has no value.
Verdict classify(const SloSpec& spec, const MetricValues& values);

// Workbook burn-rate alert windows: fire when both the long and the short lookback burn faster
// than factor = budget_fraction x window / long.
struct BurnRateWindow {
  Severity severity;
  std::chrono::seconds long_lookback;
  std::chrono::seconds short_lookback;
  double budget_fraction;
  std::string_view long_key;
  std::string_view short_key;
};
const std::vector<BurnRateWindow>& burn_rate_windows();  // 1h/5m 2%, 6h/30m 5%; 1d/2h, 3d/6h 10%
double burn_rate_factor(const BurnRateWindow& window, int window_days);

// The metric name a burn rate is published under for rules: "<slo>/burnRate<key>" (not a valid
// spec metric name, so it cannot collide with one).
std::string burn_rate_metric(std::string_view slo, std::string_view key);

// "<slo>-burn-page" (critical) and "<slo>-burn-ticket" (medium), each firing when any of its
// windows fires. Windows whose long lookback exceeds the SLO window are left out (and a rule with
// none is not made). No forSeconds: the short window is what makes them reset quickly.
std::vector<AlertRule> burn_rate_rules(const SloSpec& spec);

}  // namespace lagpilot::alerts
