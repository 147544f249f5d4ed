#include "alerts/slo_buckets.h"

#include <gtest/gtest.h>

namespace lagpilot::alerts {
namespace {

constexpr std::int64_t kMinute = 60'000;

TEST(BucketSeries, SumsAndProRatesTheBucketAtTheStart) {
  BucketSeries series(kMinute, 3 * kMinute);
  series.add(0, {60'000, 0});
  series.add(kMinute, {60'000, 30'000});
  series.add(2 * kMinute, {30'000, 0});
  TimeSum all = series.sum_since(0);
  EXPECT_EQ(all.known_ms, 150'000);
  EXPECT_EQ(all.bad_ms, 30'000);
  // From 1.5 minutes: half of the second bucket, all of the third.
  TimeSum tail = series.sum_since(90'000);
  EXPECT_EQ(tail.known_ms, 30'000 + 30'000);
  EXPECT_EQ(tail.bad_ms, 15'000);
  // Exactly on a boundary: the earlier bucket is out entirely.
  EXPECT_EQ(series.sum_since(kMinute).known_ms, 90'000);
}

TEST(BucketSeries, AccumulatesIntoABucketAndKeepsOnlyTheRetention) {
  BucketSeries series(kMinute, 3 * kMinute);
  series.add(0, {10'000, 0});
  series.add(0, {20'000, 5'000});
  EXPECT_EQ(series.tallies().front(), (TimeTally{30'000, 5'000}));
  series.add(3 * kMinute, {60'000, 0});  // 4 buckets > 3: the oldest goes
  EXPECT_EQ(series.first_start_ms(), kMinute);
  EXPECT_EQ(series.tallies().size(), 3u);
  EXPECT_EQ(series.sum_since(0).known_ms, 60'000);
  series.add(0, {60'000, 0});  // older than anything kept: ignored
  EXPECT_EQ(series.sum_since(0).known_ms, 60'000);
}

TEST(BucketSeries, StartsOverAfterAGapLongerThanTheRetention) {
  BucketSeries series(kMinute, 3 * kMinute);
  series.add(0, {60'000, 60'000});
  series.add(10 * kMinute, {60'000, 0});
  EXPECT_EQ(series.first_start_ms(), 10 * kMinute);
  EXPECT_EQ(series.tallies().size(), 1u);
  EXPECT_EQ(series.sum_since(0).bad_ms, 0);
}

TEST(BucketSeries, FillsShortGapsWithUnknownTime) {
  BucketSeries series(kMinute, 5 * kMinute);
  series.add(0, {60'000, 0});
  series.add(2 * kMinute, {60'000, 0});
  ASSERT_EQ(series.tallies().size(), 3u);
  EXPECT_EQ(series.tallies()[1], (TimeTally{0, 0}));
}

TEST(EncodeTallies, WritesFixedWidthDigitsAndRunLengths) {
  struct Row {
    std::deque<TimeTally> tallies;
    int digits;
    const char* text;
  };
  const TimeTally full{60'000, 0};
  const Row rows[] = {
      {{}, 1, ""},
      {{full}, 1, "8A"},                 // 60 = '8', 0 = 'A'
      {{full, full}, 1, "8A8A"},         // a repeat marker would not be shorter
      {{full, full, full}, 1, "8A*AC"},  // 2 more
      {{full, full, full, full, full}, 1, "8A*AE"},
      {{{60'000, 1'000}, {59'600, 600}}, 1, "8B8B"},  // 59.6 s and 0.6 s round to 60 and 1
      {{{3'600'000, 60'000}}, 3, "A4QAA8"},           // 3600 = 0,56,16; 60 = 0,0,60
      {{{3'600'000, 60'000}, {3'600'000, 60'000}}, 3, "A4QAA8*AB"},
  };
  for (const auto& row : rows) EXPECT_EQ(encode_tallies(row.tallies, row.digits), row.text);
}

TEST(EncodeTallies, SixHoursOfGoodMinutesIsFiveCharacters) {
  std::deque<TimeTally> tallies(360, TimeTally{60'000, 0});
  EXPECT_EQ(encode_tallies(tallies, 1), "8A*Fn");  // 359 more = 5 * 64 + 39
}

TEST(DecodeTallies, RoundTripsWholeSeconds) {
  std::deque<TimeTally> tallies;
  for (int i = 0; i < 500; ++i) {
    tallies.push_back(
        {static_cast<std::int64_t>(i % 7 + 1) * 8'000, static_cast<std::int64_t>(i % 3) * 1'000});
  }
  for (int i = 0; i < 50; ++i) tallies.push_back({60'000, 0});
  auto decoded = decode_tallies(encode_tallies(tallies, 1), 1, 60, 1000);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, tallies);
  auto coarse = decode_tallies(encode_tallies(tallies, 3), 3, 10'800, 1000);
  ASSERT_TRUE(coarse.ok());
  EXPECT_EQ(*coarse, tallies);
}

TEST(DecodeTallies, RejectsMalformedOrImpossibleText) {
  struct Row {
    const char* text;
    int digits;
    std::int64_t max_known;
    std::size_t max_buckets;
    const char* message;
  };
  const Row rows[] = {
      {"8", 1, 60, 10, "malformed bucket at offset 0"},
      {"8A8!", 1, 60, 10, "malformed bucket at offset 2"},
      {"AB", 1, 60, 10, "impossible bucket (0 s known, 1 s bad)"},
      {"9A", 1, 60, 10, "impossible bucket (61 s known, 0 s bad)"},
      {"8A*A", 1, 60, 10, "malformed repeat at offset 2"},
      {"8A*AK", 1, 60, 10, "more than 10 buckets"},  // 1 + 10
  };
  for (const auto& row : rows) {
    auto decoded = decode_tallies(row.text, row.digits, row.max_known, row.max_buckets);
    ASSERT_FALSE(decoded.ok()) << row.text;
    EXPECT_EQ(decoded.error().message, row.message) << row.text;
  }
}

TEST(FloorToMultiple, FloorsOnBothSidesOfZero) {
  EXPECT_EQ(floor_to_multiple(125, 60), 120);
  EXPECT_EQ(floor_to_multiple(120, 60), 120);
  EXPECT_EQ(floor_to_multiple(-1, 60), -60);
  EXPECT_EQ(floor_to_multiple(-60, 60), -60);
}

}  // namespace
}  // namespace lagpilot::alerts
