#include "sources/kafka/offset_time_table.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lagpilot {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const WallTime kStart{seconds(1'700'000'000)};

double seconds_after_start(WallTime t) { return std::chrono::duration<double>(t - kStart).count(); }

TEST(OffsetTimeTable, InterpolatesBetweenRecordedPoints) {
  OffsetTimeTable table(64);
  table.record(100, kStart);
  table.record(200, kStart + seconds(10));
  table.record(300, kStart + seconds(30));
  // 150 is halfway from 100 (t=0) to 200 (t=10).
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(150)), 5.0);
  // 250 is halfway from 200 (t=10) to 300 (t=30).
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(250)), 20.0);
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(200)), 10.0);
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(300)), 30.0);
}

TEST(OffsetTimeTable, ExtrapolatesBelowTheOldestPointAtTheAverageRate) {
  OffsetTimeTable table(64);
  table.record(100, kStart);
  table.record(200, kStart + seconds(10));
  table.record(400, kStart + seconds(20));
  // Average rate over the table: 300 records / 20 s = 15/s; 40 is 60 records = 4 s before t=0.
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(40)), -4.0);
}

TEST(OffsetTimeTable, UnknownWithoutARate) {
  OffsetTimeTable table(64);
  EXPECT_FALSE(table.time_of_offset(0).has_value());
  table.record(100, kStart);
  EXPECT_FALSE(table.time_of_offset(50).has_value());  // one point: no rate
  table.record(100, kStart + seconds(10));
  EXPECT_FALSE(table.time_of_offset(50).has_value());   // idle topic: still no rate
  EXPECT_FALSE(table.time_of_offset(101).has_value());  // beyond the newest watermark
}

TEST(OffsetTimeTable, IdleRunKeepsItsFirstAndLastPoint) {
  OffsetTimeTable table(64);
  table.record(0, kStart);
  table.record(100, kStart + seconds(10));
  for (int s = 20; s <= 90; s += 10) table.record(100, kStart + seconds(s));
  table.record(200, kStart + seconds(100));
  EXPECT_EQ(table.size(), 4u);  // 0@0, 100@10, 100@90, 200@100
  // Records 100..199 were appended after the idle spell, between t=90 and t=100.
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(150)), 95.0);
  // Records below 100 were appended before it, between t=0 and t=10.
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(50)), 5.0);
}

TEST(OffsetTimeTable, BoundedAndRestartsWhenTheWatermarkGoesBack) {
  OffsetTimeTable table(4);
  for (int i = 0; i < 10; ++i) table.record(i * 10, kStart + seconds(i));
  EXPECT_EQ(table.size(), 4u);
  table.record(5, kStart + seconds(20));  // topic recreated
  EXPECT_EQ(table.size(), 1u);
  table.record(6, kStart + seconds(19));  // out of order: ignored
  EXPECT_EQ(table.size(), 1u);
}

TEST(OffsetTimeTable, SubSecondPrecision) {
  OffsetTimeTable table(8);
  table.record(0, kStart);
  table.record(1000, kStart + milliseconds(500));
  EXPECT_DOUBLE_EQ(seconds_after_start(*table.time_of_offset(250)), 0.125);
}

}  // namespace
}  // namespace lagpilot
