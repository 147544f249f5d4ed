#include "alerts/slo.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include "alerts/spec_fields.h"
#include "util/hash.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;
using spec_fields::invalid;

std::int64_t to_ms(WallTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}
std::int64_t to_ms(Duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

constexpr int kFineDigits = 1;    // 0..63 s per value, fine buckets hold at most 60
constexpr int kCoarseDigits = 3;  // 0..262143 s per value, coarse buckets hold at most 10800

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// "<tag><width>@<first start>:<payload>" -> the buckets, checked against the expected width.
struct SeriesText {
  std::int64_t first_start_s = 0;
  std::deque<TimeTally> tallies;
};

Result<SeriesText> parse_series(std::string_view text, char tag, std::int64_t width_s, int digits,
                                std::size_t max_buckets) {
  const std::string what = std::string(1, tag) + " series: ";
  if (text.empty() || text.front() != tag) return Error{"InvalidBuckets", what + "missing"};
  const std::size_t at = text.find('@');
  const std::size_t colon = text.find(':');
  if (at == std::string_view::npos || colon == std::string_view::npos || colon < at) {
    return Error{"InvalidBuckets", what + "malformed header"};
  }
  auto width = parse_integer(text.substr(1, at - 1));
  auto start = parse_integer(text.substr(at + 1, colon - at - 1));
  if (!width || !start) return Error{"InvalidBuckets", what + "malformed header"};
  if (*width != width_s) {
    return Error{"InvalidBuckets", what + "bucket width " + std::to_string(*width) +
                                       " s, expected " + std::to_string(width_s) + " s"};
  }
  if (*start % width_s != 0) return Error{"InvalidBuckets", what + "unaligned start"};
  auto tallies = decode_tallies(text.substr(colon + 1), digits, width_s, max_buckets);
  if (!tallies) return Error{"InvalidBuckets", what + tallies.error().message};
  return SeriesText{*start, std::move(*tallies)};
}

// The buckets of `series` that end after `after_ms`, as "<tag><width>@<start>:<payload>".
std::string format_series(const BucketSeries& series, char tag, std::int64_t after_ms,
                          std::int64_t fallback_start_ms, int digits) {
  std::deque<TimeTally> kept;
  std::int64_t first_start = fallback_start_ms;
  std::int64_t start = series.first_start_ms();
  for (const auto& tally : series.tallies()) {
    if (start + series.width_ms() > after_ms) {
      if (kept.empty()) first_start = start;
      kept.push_back(tally);
    }
    start += series.width_ms();
  }
  return std::string(1, tag) + std::to_string(series.width_ms() / 1000) + "@" +
         std::to_string(first_start / 1000) + ":" + encode_tallies(kept, digits);
}

std::string window_label(int window_days) { return std::to_string(window_days) + "d"; }

}  // namespace

Result<SloSpec> parse_slo(const Json& item, std::size_t index, const MetricCatalog& catalog) {
  const std::string path = "spec.slos[" + std::to_string(index) + "]";
  if (!item.is_object()) return invalid(path, "must be an object");
  SloSpec spec;
  auto name = spec_fields::required_name(item, path);
  if (!name) return name.error();
  spec.name = *name;
  auto metric = spec_fields::required_string(item, "metric", path);
  if (!metric) return metric.error();
  if (auto problem = catalog.problem_with(*metric)) return invalid(path + ".metric", *problem);
  const Json* good_when = spec_fields::find(item, "goodWhen");
  if (!good_when) return invalid(path + ".goodWhen", "required");
  if (!good_when->is_object()) return invalid(path + ".goodWhen", "must be an object");
  auto op = spec_fields::required_op(*good_when, "op", path + ".goodWhen");
  if (!op) return op.error();
  auto threshold = spec_fields::required_number(*good_when, "threshold", path + ".goodWhen");
  if (!threshold) return threshold.error();
  spec.good_when = Condition{*metric, *op, *threshold};
  auto objective = spec_fields::required_number(item, "objectivePercent", path);
  if (!objective) return objective.error();
  if (*objective <= 0 || *objective >= 100) {
    return invalid(path + ".objectivePercent",
                   "must be strictly between 0 and 100, got " + format_number(*objective));
  }
  spec.objective_percent = *objective;
  auto window = spec_fields::optional_integer(item, "windowDays", path, 30, 1, 90);
  if (!window) return window.error();
  spec.window_days = static_cast<int>(*window);
  return spec;
}

ParsedSlos parse_slos(const Json& slos, const MetricCatalog& catalog) {
  ParsedSlos parsed;
  spec_fields::parse_named_list(
      slos, "spec.slos", "SLO name",
      [&](const Json& item, std::size_t index) { return parse_slo(item, index, catalog); },
      parsed.slos, parsed.errors);
  return parsed;
}

const std::vector<Lookback>& burn_rate_lookbacks() {
  static const std::vector<Lookback> kLookbacks{
      {"5m", std::chrono::minutes(5)}, {"30m", std::chrono::minutes(30)},
      {"1h", std::chrono::hours(1)},   {"2h", std::chrono::hours(2)},
      {"6h", std::chrono::hours(6)},   {"1d", std::chrono::hours(24)},
      {"3d", std::chrono::hours(72)}};
  return kLookbacks;
}

std::optional<double> SloStatus::burn_rate(std::string_view key) const {
  for (const auto& [lookback, rate] : burn_rates) {
    if (lookback == key) return rate;
  }
  return std::nullopt;
}

Verdict classify(const SloSpec& spec, const MetricValues& values) {
  switch (spec.good_when.evaluate(values)) {
    case Truth::kTrue:
      return Verdict::kGood;
    case Truth::kFalse:
      return Verdict::kBad;
    case Truth::kUnknown:
      return Verdict::kUnknown;
  }
  return Verdict::kUnknown;
}

std::chrono::seconds SloTracker::coarse_width(int window_days) {
  constexpr std::array<int, 9> kMinutes{5, 10, 15, 20, 30, 60, 90, 120, 180};
  const std::int64_t window_minutes = static_cast<std::int64_t>(std::max(1, window_days)) * 1440;
  for (int minutes : kMinutes) {
    if (window_minutes / minutes <= 720) return std::chrono::minutes(minutes);
  }
  return std::chrono::minutes(kMinutes.back());
}

SloTracker::SloTracker(SloSpec spec, Duration max_gap)
    : spec_(std::move(spec)),
      max_gap_ms_(to_ms(max_gap)),
      fine_(to_ms(kFineWidth), to_ms(kFineRetention)),
      coarse_(to_ms(coarse_width(spec_.window_days)),
              to_ms(spec_.window()) + to_ms(coarse_width(spec_.window_days))) {}

void SloTracker::set_max_gap(Duration max_gap) { max_gap_ms_ = to_ms(max_gap); }

bool SloTracker::same_measure(const SloSpec& other) const {
  return spec_.good_when.metric == other.good_when.metric &&
         spec_.good_when.op == other.good_when.op &&
         spec_.good_when.threshold == other.good_when.threshold &&
         spec_.window_days == other.window_days;
}

void SloTracker::close_open_bucket() {
  fine_.add(open_start_ms_, open_);
  coarse_.add(floor_to_multiple(open_start_ms_, coarse_.width_ms()), open_);
  open_ = TimeTally{};
}

void SloTracker::move_open_bucket_to(std::int64_t ms) {
  close_open_bucket();
  open_start_ms_ = floor_to_multiple(ms, fine_.width_ms());
}

void SloTracker::record(WallTime now, Verdict verdict) {
  const std::int64_t now_ms = to_ms(now);
  const std::int64_t width = fine_.width_ms();
  if (!last_ms_) {  // first poll ever: nothing before it to account
    open_start_ms_ = floor_to_multiple(now_ms, width);
    last_ms_ = now_ms;
    recorded_ = true;
    return;
  }
  recorded_ = true;
  if (now_ms <= *last_ms_) return;
  if (verdict != Verdict::kUnknown && now_ms - *last_ms_ <= max_gap_ms_) {
    std::int64_t from = *last_ms_;
    while (from < now_ms) {
      if (from >= open_start_ms_ + width) move_open_bucket_to(from);
      const std::int64_t piece_end = std::min(now_ms, open_start_ms_ + width);
      open_.known_ms += piece_end - from;
      if (verdict == Verdict::kBad) open_.bad_ms += piece_end - from;
      from = piece_end;
    }
  }
  if (now_ms >= open_start_ms_ + width) move_open_bucket_to(now_ms);
  last_ms_ = now_ms;
}

TimeSum SloTracker::tally(WallTime now, Duration lookback) const {
  const std::int64_t from = to_ms(now) - to_ms(lookback);
  const BucketSeries& series = lookback <= kFineRetention ? fine_ : coarse_;
  TimeSum sum = series.sum_since(from);
  const std::int64_t width = fine_.width_ms();
  if (last_ms_ && open_start_ms_ + width > from) {
    const double share =
        open_start_ms_ >= from
            ? 1.0
            : static_cast<double>(open_start_ms_ + width - from) / static_cast<double>(width);
    sum.known_ms += share * static_cast<double>(open_.known_ms);
    sum.bad_ms += share * static_cast<double>(open_.bad_ms);
  }
  return sum;
}

SloStatus SloTracker::status(WallTime now) const {
  SloStatus status;
  status.name = spec_.name;
  const double budget_fraction = 1 - spec_.objective_percent / 100;
  const TimeSum window = tally(now, spec_.window());
  const double known_seconds = window.known_ms / 1000;
  const double bad_seconds = window.bad_ms / 1000;
  if (known_seconds > 0) status.sli_percent = (known_seconds - bad_seconds) / known_seconds * 100;
  const double budget_seconds =
      budget_fraction *
      static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(spec_.window()).count());
  status.budget_remaining_seconds = budget_seconds - bad_seconds;
  status.budget_remaining_percent = status.budget_remaining_seconds / budget_seconds * 100;
  status.budget_exhausted = bad_seconds > 0 && bad_seconds >= budget_seconds;
  for (const auto& lookback : burn_rate_lookbacks()) {
    if (lookback.length > spec_.window()) continue;
    const TimeSum sum = tally(now, lookback.length);
    if (sum.known_ms <= 0) continue;
    status.burn_rates.emplace_back(std::string(lookback.key),
                                   sum.bad_ms / sum.known_ms / budget_fraction);
  }
  status.buckets = serialize();
  return status;
}

std::string SloTracker::definition_hash() const {
  const std::string definition =
      spec_.good_when.metric + std::string(to_string(spec_.good_when.op)) +
      format_number(spec_.good_when.threshold) + "/" + std::to_string(spec_.window_days);
  const std::uint32_t hash = fnv1a32(definition);
  char text[9];
  std::snprintf(text, sizeof text, "%08x", hash);
  return text;
}

std::string SloTracker::serialize() const {
  if (!last_ms_) return "";
  const std::int64_t accounted_until = open_start_ms_;
  return "v1;" + definition_hash() + ";t" + std::to_string(accounted_until / 1000) + ";" +
         format_series(fine_, 'f', accounted_until - fine_.retention_ms(), accounted_until,
                       kFineDigits) +
         ";" +
         format_series(coarse_, 'c', accounted_until - coarse_.retention_ms(), accounted_until,
                       kCoarseDigits);
}

Status SloTracker::restore(std::string_view buckets) {
  if (recorded_)
    return Error{"InvalidBuckets", "already recording; restore only before the first poll"};
  const auto parts = split(buckets, ';');
  if (parts.size() != 5 || parts[0] != "v1") {
    return Error{"InvalidBuckets", "not a v1 bucket record"};
  }
  if (parts[1] != definition_hash()) {
    return Error{"InvalidBuckets", "recorded for another metric, goodWhen or windowDays"};
  }
  if (parts[2].empty() || parts[2].front() != 't') return Error{"InvalidBuckets", "missing t"};
  auto accounted_until_s = parse_integer(parts[2].substr(1));
  const std::int64_t fine_width_s = fine_.width_ms() / 1000;
  const std::int64_t coarse_width_s = coarse_.width_ms() / 1000;
  if (!accounted_until_s || *accounted_until_s % fine_width_s != 0) {
    return Error{"InvalidBuckets", "malformed t"};
  }
  auto fine = parse_series(parts[3], 'f', fine_width_s, kFineDigits,
                           static_cast<std::size_t>(fine_.retention_ms() / fine_.width_ms()));
  if (!fine) return fine.error();
  auto coarse = parse_series(parts[4], 'c', coarse_width_s, kCoarseDigits,
                             static_cast<std::size_t>(coarse_.retention_ms() / coarse_.width_ms()));
  if (!coarse) return coarse.error();
  const auto fine_end =
      fine->first_start_s + static_cast<std::int64_t>(fine->tallies.size()) * fine_width_s;
  const auto coarse_last_start =
      coarse->first_start_s +
      (static_cast<std::int64_t>(coarse->tallies.size()) - 1) * coarse_width_s;
  if (fine_end > *accounted_until_s ||
      (!coarse->tallies.empty() && coarse_last_start >= *accounted_until_s)) {
    return Error{"InvalidBuckets", "buckets after t"};
  }
  fine_.assign(fine->first_start_s * 1000, std::move(fine->tallies));
  coarse_.assign(coarse->first_start_s * 1000, std::move(coarse->tallies));
  open_start_ms_ = *accounted_until_s * 1000;
  open_ = TimeTally{};
  last_ms_ = open_start_ms_;
  return ok_status();
}

const std::vector<BurnRateWindow>& burn_rate_windows() {
  using std::chrono::hours;
  using std::chrono::minutes;
  static const std::vector<BurnRateWindow> kWindows{
      {Severity::kCritical, hours(1), minutes(5), 0.02, "1h", "5m"},
      {Severity::kCritical, hours(6), minutes(30), 0.05, "6h", "30m"},
      {Severity::kMedium, hours(24), hours(2), 0.10, "1d", "2h"},
      {Severity::kMedium, hours(72), hours(6), 0.10, "3d", "6h"}};
  return kWindows;
}

double burn_rate_factor(const BurnRateWindow& window, int window_days) {
  const double window_hours = 24.0 * window_days;
  const double long_hours =
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(window.long_lookback).count()) /
      3600.0;
  return round_decimals(window.budget_fraction * window_hours / long_hours, 6);
}

std::string burn_rate_metric(std::string_view slo, std::string_view key) {
  return std::string(slo) + "/burnRate" + std::string(key);
}

std::vector<AlertRule> burn_rate_rules(const SloSpec& spec) {
  std::vector<AlertRule> rules;
  for (Severity severity : {Severity::kCritical, Severity::kMedium}) {
    AlertRule rule;
    rule.name = spec.name + (severity == Severity::kCritical ? "-burn-page" : "-burn-ticket");
    rule.severity = severity;
    rule.origin = RuleOrigin::kBurnRate;
    for (const auto& window : burn_rate_windows()) {
      if (window.severity != severity || window.long_lookback > spec.window()) continue;
      const double factor = burn_rate_factor(window, spec.window_days);
      rule.any_of.push_back(
          Clause{{Condition{burn_rate_metric(spec.name, window.long_key), Op::kGreater, factor},
                  Condition{burn_rate_metric(spec.name, window.short_key), Op::kGreater, factor}}});
    }
    if (rule.any_of.empty()) continue;
    const std::string summary = "SLO " + spec.name + " (" + format_number(spec.objective_percent) +
                                "% over " + window_label(spec.window_days) +
                                ") is burning its error budget at {{ .value }}x (threshold "
                                "{{ .threshold }}x)";
    auto parsed = SummaryTemplate::parse(summary);
    if (parsed) rule.summary = std::move(*parsed);
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace lagpilot::alerts
