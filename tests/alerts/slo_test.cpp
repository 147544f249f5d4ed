#include "alerts/slo.h"

#include <gtest/gtest.h>

#include <functional>

#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;
using testing::at;

constexpr double kTolerance = 1e-9;

SloSpec freshness(int window_days, double objective) {
  return SloSpec{"freshness", {"lagSeconds", Op::kLessOrEqual, 30}, objective, window_days};
}

SloTracker tracker_for(int window_days, double objective) {
  return SloTracker(freshness(window_days, objective), std::chrono::seconds(60));
}

// Polls at from, from + step, ..., to (inclusive); bad(t) says whether the poll at t is bad.
void poll(SloTracker& tracker, long long from, long long to, long long step,
          const std::function<bool(long long)>& bad) {
  for (long long t = from; t <= to; t += step) {
    tracker.record(at(t), bad(t) ? Verdict::kBad : Verdict::kGood);
  }
}

auto bad_between(long long first_bad_poll, long long last_bad_poll) {
  return [=](long long t) { return t >= first_bad_poll && t <= last_bad_poll; };
}

TEST(ParseSlo, ReadsEveryFieldWithDefaults) {
  Json item = {{"name", "freshness"},
               {"metric", "lagSeconds"},
               {"goodWhen", {{"op", "<="}, {"threshold", 30}}},
               {"objectivePercent", 99.5}};
  auto slo = parse_slo(item, 0, MetricCatalog{});
  ASSERT_TRUE(slo.ok()) << slo.error().message;
  EXPECT_EQ(slo->name, "freshness");
  EXPECT_EQ(slo->good_when.metric, "lagSeconds");
  EXPECT_EQ(slo->good_when.op, Op::kLessOrEqual);
  EXPECT_EQ(slo->good_when.threshold, 30);
  EXPECT_EQ(slo->objective_percent, 99.5);
  EXPECT_EQ(slo->window_days, 30);
}

TEST(ParseSlo, ErrorsNameTheField) {
  const Json valid = {{"name", "freshness"},
                      {"metric", "lagSeconds"},
                      {"goodWhen", {{"op", "<="}, {"threshold", 30}}},
                      {"objectivePercent", 99.5},
                      {"windowDays", 7}};
  struct Row {
    const char* key;
    Json value;
    const char* message;
  };
  const Row rows[] = {
      {"name", nullptr, "spec.slos[1].name: required"},
      {"metric", "lagsec",
       "spec.slos[1].metric: unknown metric \"lagsec\" (known: consumerLag, queueDepth, "
       "lagSeconds, consumers, ingressRate, egressRate, replicas, partitions, sourceReachable, "
       "scaledToMaxWithGrowingLag)"},
      {"goodWhen", nullptr, "spec.slos[1].goodWhen: required"},
      {"goodWhen", {{"op", "<"}}, "spec.slos[1].goodWhen.threshold: required"},
      {"goodWhen",
       {{"op", "~"}, {"threshold", 1}},
       "spec.slos[1].goodWhen.op: unknown operator \"~\" (known: > >= < <= == !=; quote it in "
       "YAML)"},
      {"objectivePercent", 100,
       "spec.slos[1].objectivePercent: must be strictly between 0 and 100, got 100"},
      {"objectivePercent", nullptr, "spec.slos[1].objectivePercent: required"},
      {"windowDays", 91, "spec.slos[1].windowDays: must be between 1 and 90, got 91"},
  };
  for (const auto& row : rows) {
    Json item = valid;
    if (row.value.is_null()) {
      item.erase(row.key);
    } else {
      item[row.key] = row.value;
    }
    auto slo = parse_slo(item, 1, MetricCatalog{});
    ASSERT_FALSE(slo.ok()) << row.key;
    EXPECT_EQ(slo.error().message, row.message);
  }
}

TEST(ParseSlos, SkipsBadAndDuplicateItems) {
  const Json good = {{"name", "a"},
                     {"metric", "lagSeconds"},
                     {"goodWhen", {{"op", "<="}, {"threshold", 30}}},
                     {"objectivePercent", 99}};
  Json bad = good;
  bad["name"] = "b";
  bad["objectivePercent"] = 0;
  ParsedSlos parsed = parse_slos(Json::array({good, bad, good}), MetricCatalog{});
  ASSERT_EQ(parsed.slos.size(), 1u);
  ASSERT_EQ(parsed.errors.size(), 2u);
  EXPECT_EQ(parsed.errors[0].message,
            "spec.slos[1].objectivePercent: must be strictly between 0 and 100, got 0");
  EXPECT_EQ(parsed.errors[1].message,
            "spec.slos[2].name: duplicate SLO name \"a\" (also spec.slos[0])");
}

TEST(SloTracker, CoarseWidthKeepsAWindowWithin720Buckets) {
  struct Row {
    int window_days;
    int minutes;
    int buckets;
  };
  const Row rows[] = {{1, 5, 288},    {2, 5, 576},    {3, 10, 432},  {7, 15, 672},
                      {14, 30, 672},  {28, 60, 672},  {30, 60, 720}, {45, 90, 720},
                      {60, 120, 720}, {75, 180, 600}, {90, 180, 720}};
  for (const auto& row : rows) {
    const auto width = SloTracker::coarse_width(row.window_days);
    EXPECT_EQ(width, std::chrono::minutes(row.minutes)) << row.window_days;
    EXPECT_EQ(row.window_days * 1440 / row.minutes, row.buckets);
  }
}

// Window 1 day, objective 99%: budget 864 s. One hour of 10 s polls, 36 bad polls (360 s) between
// 30 and 36 minutes.
TEST(SloTracker, SliBudgetAndBurnRatesMatchTheHandComputedTable) {
  SloTracker tracker = tracker_for(1, 99);
  poll(tracker, 0, 3600, 10, bad_between(1810, 2160));
  const SloStatus status = tracker.status(at(3600));
  ASSERT_TRUE(status.sli_percent);
  EXPECT_NEAR(*status.sli_percent, 90.0, kTolerance);                // 3240 / 3600
  EXPECT_NEAR(status.budget_remaining_seconds, 504, kTolerance);     // 864 - 360
  EXPECT_NEAR(status.budget_remaining_percent, 58.333333333, 1e-6);  // 504 / 864
  EXPECT_FALSE(status.budget_exhausted);
  struct Row {
    const char* key;
    double burn;  // (bad / known) / 0.01
  };
  const Row rows[] = {
      {"5m", 0},    // 0 / 300
      {"30m", 20},  // 360 / 1800
      {"1h", 10},   // 360 / 3600
      {"2h", 10},   // only 3600 s known
      {"6h", 10},  {"1d", 10},
  };
  ASSERT_EQ(status.burn_rates.size(), std::size(rows));  // no "3d": longer than the window
  for (const auto& row : rows) {
    auto burn = status.burn_rate(row.key);
    ASSERT_TRUE(burn) << row.key;
    EXPECT_NEAR(*burn, row.burn, kTolerance) << row.key;
  }
  EXPECT_FALSE(status.burn_rate("3d"));
}

TEST(SloTracker, ABudgetSpentBeyondTheObjectiveIsExhausted) {
  SloTracker tracker = tracker_for(1, 99);
  poll(tracker, 0, 870, 10, [](long long) { return true; });
  const SloStatus status = tracker.status(at(870));
  EXPECT_NEAR(*status.sli_percent, 0, kTolerance);
  EXPECT_NEAR(status.budget_remaining_seconds, -6, kTolerance);  // 864 - 870
  EXPECT_NEAR(status.budget_remaining_percent, -6.0 / 864 * 100, kTolerance);
  EXPECT_TRUE(status.budget_exhausted);
}

TEST(SloTracker, WithoutKnownTimeThereIsNoSliAndTheWholeBudget) {
  SloTracker tracker = tracker_for(7, 99.5);
  tracker.record(at(0), Verdict::kGood);  // the first poll accounts nothing
  const SloStatus status = tracker.status(at(0));
  EXPECT_FALSE(status.sli_percent);
  EXPECT_NEAR(status.budget_remaining_seconds, 0.005 * 7 * 86400, 1e-6);
  EXPECT_EQ(status.budget_remaining_percent, 100);
  EXPECT_TRUE(status.burn_rates.empty());
}

// The 5 m lookback at 5:30 starts in the middle of minute 0: that minute counts half.
TEST(SloTracker, FiveMinuteBurnCountsTheOldestMinuteProRata) {
  SloTracker evenly = tracker_for(1, 99);
  poll(evenly, 0, 330, 10, bad_between(10, 60));  // all of minute 0 bad
  // Half of minute 0 (30 s bad) + 4 good minutes + 30 s good: exact here.
  EXPECT_NEAR(*evenly.status(at(330)).burn_rate("5m"), 30.0 / 300 / 0.01, kTolerance);

  SloTracker at_the_end = tracker_for(1, 99);
  poll(at_the_end, 0, 330, 10, bad_between(60, 60));  // only (50 s, 60 s] bad
  // Truly 10 s bad in (30 s, 330 s]; the minute is assumed even, so 5 s: the documented error.
  EXPECT_NEAR(*at_the_end.status(at(330)).burn_rate("5m"), 5.0 / 300 / 0.01, kTolerance);
}

TEST(SloTracker, UnknownPollsAndLongGapsCountForNothing) {
  SloTracker tracker = tracker_for(1, 99);
  for (long long t = 0; t <= 600; t += 10) {
    const bool unknown = t >= 200 && t <= 300;  // (190, 300] unknown: 110 s
    tracker.record(at(t), unknown ? Verdict::kUnknown : Verdict::kGood);
  }
  EXPECT_NEAR(tracker.tally(at(600), std::chrono::hours(1)).known_ms, 490'000, kTolerance);
  tracker.record(at(720), Verdict::kBad);  // 120 s since the last poll > 60 s: unknown
  poll(tracker, 730, 900, 10, [](long long) { return false; });
  const TimeSum sum = tracker.tally(at(900), std::chrono::hours(1));
  EXPECT_NEAR(sum.known_ms, 490'000 + 180'000, kTolerance);
  EXPECT_NEAR(sum.bad_ms, 0, kTolerance);
  tracker.record(at(890), Verdict::kBad);  // back in time: ignored
  EXPECT_NEAR(tracker.tally(at(900), std::chrono::hours(1)).known_ms, 670'000, kTolerance);
}

TEST(BurnRateFactor, ScalesTheWorkbookBudgetFractionsToTheWindow) {
  struct Row {
    int window_days;
    double factors[4];  // 1h/5m 2%, 6h/30m 5%, 1d/2h 10%, 3d/6h 10%
  };
  const Row rows[] = {
      {30, {14.4, 6, 3, 1}},  {28, {13.44, 5.6, 2.8, 0.933333}}, {7, {3.36, 1.4, 0.7, 0.233333}},
      {90, {43.2, 18, 9, 3}}, {1, {0.48, 0.2, 0.1, 0.033333}},
  };
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_NEAR(burn_rate_factor(burn_rate_windows()[i], row.window_days), row.factors[i], 1e-9)
          << row.window_days << " " << i;
    }
  }
}

TEST(BurnRateRules, PageAndTicketWithTheWindowsThatFitTheSlo) {
  const auto rules = burn_rate_rules(freshness(30, 99.9));
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "freshness-burn-page");
  EXPECT_EQ(rules[0].severity, Severity::kCritical);
  EXPECT_EQ(rules[0].origin, RuleOrigin::kBurnRate);
  EXPECT_EQ(rules[0].for_duration, Duration::zero());
  ASSERT_EQ(rules[0].any_of.size(), 2u);
  const auto& page_1h = rules[0].any_of[0].all_of;
  ASSERT_EQ(page_1h.size(), 2u);
  EXPECT_EQ(page_1h[0].metric, "freshness/burnRate1h");
  EXPECT_EQ(page_1h[0].op, Op::kGreater);
  EXPECT_EQ(page_1h[0].threshold, 14.4);
  EXPECT_EQ(page_1h[1].metric, "freshness/burnRate5m");
  EXPECT_EQ(rules[0].any_of[1].all_of[0].metric, "freshness/burnRate6h");
  EXPECT_EQ(rules[0].any_of[1].all_of[1].metric, "freshness/burnRate30m");
  EXPECT_EQ(rules[0].any_of[1].all_of[1].threshold, 6);
  EXPECT_EQ(rules[1].name, "freshness-burn-ticket");
  EXPECT_EQ(rules[1].severity, Severity::kMedium);
  ASSERT_EQ(rules[1].any_of.size(), 2u);
  EXPECT_EQ(rules[1].any_of[1].all_of[0].metric, "freshness/burnRate3d");
  EXPECT_EQ(rules[1].any_of[1].all_of[0].threshold, 1);

  const auto one_day = burn_rate_rules(freshness(1, 99));
  ASSERT_EQ(one_day.size(), 2u);
  EXPECT_EQ(one_day[0].any_of.size(), 2u);
  ASSERT_EQ(one_day[1].any_of.size(), 1u);  // 3d > 1 day: only 1d/2h
  EXPECT_EQ(one_day[1].any_of[0].all_of[0].metric, "freshness/burnRate1d");
}

TEST(SloTracker, SerializeRestoreRoundTripsAtABucketBoundary) {
  SloTracker original = tracker_for(30, 99.9);
  poll(original, 0, 7200, 10, [](long long t) { return t % 700 < 40; });
  const std::string buckets = original.serialize();
  EXPECT_EQ(buckets.rfind("v1;", 0), 0u);
  EXPECT_NE(buckets.find(";t1700013600;"), std::string::npos);  // T = start + 2 h
  SloTracker restored = tracker_for(30, 99.9);
  ASSERT_TRUE(restored.restore(buckets).ok());
  EXPECT_EQ(restored.serialize(), buckets);
  const SloStatus a = original.status(at(7200));
  const SloStatus b = restored.status(at(7200));
  EXPECT_NEAR(*a.sli_percent, *b.sli_percent, kTolerance);
  EXPECT_NEAR(a.budget_remaining_seconds, b.budget_remaining_seconds, kTolerance);
  ASSERT_EQ(a.burn_rates.size(), b.burn_rates.size());
  for (std::size_t i = 0; i < a.burn_rates.size(); ++i) {
    EXPECT_EQ(a.burn_rates[i].first, b.burn_rates[i].first);
    EXPECT_NEAR(a.burn_rates[i].second, b.burn_rates[i].second, kTolerance);
  }
}

// A restart in the middle of a minute: the restarted tracker resumes from the start of that
// minute (T) and its first poll accounts (T, now], which the lost open bucket held: the totals
// equal those of a tracker that never restarted.
TEST(SloTracker, RestartNeitherResetsNorDoubleCounts) {
  auto bad = [](long long t) { return (t / 600) % 3 == 1; };  // 10 bad minutes of every 30
  SloTracker reference = tracker_for(7, 99.5);
  poll(reference, 5, 14'405, 10, bad);

  SloTracker before = tracker_for(7, 99.5);
  poll(before, 5, 3625, 10, bad);  // open bucket [3600, 3660) holds 25 s
  const std::string persisted = before.serialize();
  EXPECT_NE(persisted.find(";t1700010000;"), std::string::npos);  // T = 3600 s
  SloTracker after = tracker_for(7, 99.5);
  ASSERT_TRUE(after.restore(persisted).ok());
  ASSERT_TRUE(after.restore(persisted).ok());  // again before any poll: replaces, never adds
  poll(after, 3635, 14'405, 10, bad);

  for (auto lookback : {std::chrono::hours(1), std::chrono::hours(4), std::chrono::hours(24)}) {
    const TimeSum expected = reference.tally(at(14'405), lookback);
    const TimeSum actual = after.tally(at(14'405), lookback);
    EXPECT_NEAR(actual.known_ms, expected.known_ms, kTolerance);
    EXPECT_NEAR(actual.bad_ms, expected.bad_ms, kTolerance);
  }
  EXPECT_EQ(after.serialize(), reference.serialize());
}

TEST(SloTracker, TimeWhileTheOperatorWasDownIsUnknown) {
  SloTracker before = tracker_for(1, 99);
  poll(before, 0, 3600, 10, [](long long) { return false; });
  SloTracker after = tracker_for(1, 99);
  ASSERT_TRUE(after.restore(before.serialize()).ok());
  poll(after, 7200, 7800, 10, [](long long) { return true; });  // down from 3600 s to 7200 s
  const TimeSum sum = after.tally(at(7800), std::chrono::hours(24));
  EXPECT_NEAR(sum.known_ms, 3'600'000 + 600'000, kTolerance);  // the hour down is not counted
  EXPECT_NEAR(sum.bad_ms, 600'000, kTolerance);
  const SloStatus status = after.status(at(7800));
  EXPECT_NEAR(*status.sli_percent, 3600.0 / 4200 * 100, kTolerance);
  EXPECT_NEAR(status.budget_remaining_seconds, 864 - 600, kTolerance);
}

TEST(SloTracker, RefusesBucketsItCannotContinue) {
  SloTracker source = tracker_for(7, 99.5);
  poll(source, 0, 600, 10, [](long long) { return false; });
  const std::string buckets = source.serialize();

  SloTracker other_threshold(SloSpec{"freshness", {"lagSeconds", Op::kLessOrEqual, 60}, 99.5, 7},
                             std::chrono::seconds(60));
  EXPECT_EQ(other_threshold.restore(buckets).error().message,
            "recorded for another metric, goodWhen or windowDays");
  SloTracker other_window = tracker_for(30, 99.5);
  EXPECT_FALSE(other_window.restore(buckets).ok());
  SloTracker other_objective = tracker_for(7, 99.9);  // the objective is not part of the data
  EXPECT_TRUE(other_objective.restore(buckets).ok());

  SloTracker fresh = tracker_for(7, 99.5);
  EXPECT_EQ(fresh.restore("v2;whatever").error().message, "not a v1 bucket record");
  std::string corrupted = buckets;
  corrupted.back() = '!';
  EXPECT_FALSE(fresh.restore(corrupted).ok());
  EXPECT_EQ(fresh.serialize(), "");  // unchanged by the refusals

  SloTracker running = tracker_for(7, 99.5);
  running.record(at(0), Verdict::kGood);
  EXPECT_EQ(running.restore(buckets).error().message,
            "already recording; restore only before the first poll");
}

// Worst case for the text: 90 days of 10 s polls good or bad at random, so that nearly no two
// buckets are equal. It must stay within status.slos[].buckets maxLength 8192.
TEST(SloTracker, BucketsFitIn8KilobytesForA90DayWindow) {
  for (int window_days : {90, 30, 1}) {
    SloTracker tracker = tracker_for(window_days, 99.9);
    std::uint64_t random = 12345;
    const long long end = static_cast<long long>(window_days + 1) * 86400;
    for (long long t = 0; t <= end; t += 10) {
      random = random * 6364136223846793005ull + 1442695040888963407ull;
      tracker.record(at(t), (random >> 33) % 3 == 0 ? Verdict::kBad : Verdict::kGood);
    }
    const std::string buckets = tracker.serialize();
    EXPECT_LE(buckets.size(), SloTracker::kMaxBucketsLength) << window_days;
    SloTracker restored = tracker_for(window_days, 99.9);
    ASSERT_TRUE(restored.restore(buckets).ok()) << window_days;
    EXPECT_EQ(restored.serialize(), buckets);
  }
  // And by construction for every window: header + 360 fine x 2 + (window / coarse + 1) x 6.
  for (int window_days = 1; window_days <= 90; ++window_days) {
    const auto coarse = SloTracker::coarse_width(window_days).count();
    const long long coarse_buckets = window_days * 86400LL / coarse + 1;
    EXPECT_LE(100 + 360 * 2 + coarse_buckets * 6, 8192) << window_days;
  }
}

}  // namespace
}  // namespace lagpilot::alerts
