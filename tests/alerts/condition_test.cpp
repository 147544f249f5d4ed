#include "alerts/condition.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lagpilot::alerts {
namespace {

TEST(Op, ParsesEveryCrdSpellingAndRoundTrips) {
  for (const char* text : {">", ">=", "<", "<=", "==", "!="}) {
    auto op = parse_op(text);
    ASSERT_TRUE(op) << text;
    EXPECT_EQ(to_string(*op), text);
  }
  EXPECT_FALSE(parse_op("=>"));
  EXPECT_FALSE(parse_op("gt"));
  EXPECT_FALSE(parse_op(""));
}

TEST(Op, ComparesAsTable) {
  struct Row {
    double value;
    Op op;
    double threshold;
    bool expected;
  };
  const Row rows[] = {
      {5001, Op::kGreater, 5000, true},
      {5000, Op::kGreater, 5000, false},
      {5000, Op::kGreaterOrEqual, 5000, true},
      {4999, Op::kGreaterOrEqual, 5000, false},
      {29.9, Op::kLess, 30, true},
      {30, Op::kLess, 30, false},
      {30, Op::kLessOrEqual, 30, true},
      {30.1, Op::kLessOrEqual, 30, false},
      {0, Op::kEqual, 0, true},
      {1, Op::kEqual, 0, false},
      {1, Op::kNotEqual, 0, true},
      {0, Op::kNotEqual, 0, false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(compare(row.value, row.op, row.threshold), row.expected)
        << row.value << " " << to_string(row.op) << " " << row.threshold;
  }
}

TEST(Severity, ParsesCrdSpellingsMostSevereFirst) {
  EXPECT_EQ(parse_severity("critical"), Severity::kCritical);
  EXPECT_EQ(parse_severity("high"), Severity::kHigh);
  EXPECT_EQ(parse_severity("medium"), Severity::kMedium);
  EXPECT_EQ(parse_severity("low"), Severity::kLow);
  EXPECT_EQ(parse_severity("info"), Severity::kInfo);
  EXPECT_FALSE(parse_severity("warning"));
  EXPECT_FALSE(parse_severity("Critical"));
  EXPECT_LT(Severity::kCritical, Severity::kInfo);
  EXPECT_EQ(to_string(Severity::kLow), "low");
}

TEST(Clause, FollowsKleeneAndLogic) {
  const Clause empty_group{{{"consumers", Op::kEqual, 0}, {"consumerLag", Op::kGreater, 0}}};
  struct Row {
    MetricValues values;
    Truth expected;
  };
  const Row rows[] = {
      {{{"consumers", 0}, {"consumerLag", 10}}, Truth::kTrue},
      {{{"consumers", 2}, {"consumerLag", 10}}, Truth::kFalse},
      {{{"consumers", 0}, {"consumerLag", 0}}, Truth::kFalse},
      {{{"consumerLag", 10}}, Truth::kUnknown},  // consumers unknown, lag > 0
      {{{"consumerLag", 0}}, Truth::kFalse},     // false wins over unknown
      {{}, Truth::kUnknown},
  };
  for (const auto& row : rows) EXPECT_EQ(empty_group.evaluate(row.values), row.expected);
}

TEST(FormatNumber, UsesFixedNotationShortestRoundTrip) {
  EXPECT_EQ(format_number(48200), "48200");
  EXPECT_EQ(format_number(1'000'000), "1000000");
  EXPECT_EQ(format_number(0.42), "0.42");
  EXPECT_EQ(format_number(14.4), "14.4");
  EXPECT_EQ(format_number(-3.5), "-3.5");
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(-0.0), "0");
  EXPECT_EQ(format_number(0.000123), "0.000123");
}

TEST(Rounding, SignificantDigitsAndDecimals) {
  EXPECT_EQ(round_significant(48213, 3), 48200);
  EXPECT_EQ(round_significant(48250, 3), 48300);
  EXPECT_EQ(round_significant(96.456, 3), 96.5);
  EXPECT_EQ(round_significant(0.42137, 3), 0.421);
  EXPECT_EQ(round_significant(7, 3), 7);
  EXPECT_EQ(round_significant(-1234, 3), -1230);
  EXPECT_EQ(round_significant(0, 3), 0);
  EXPECT_EQ(round_decimals(99.71349, 3), 99.713);
  EXPECT_EQ(round_decimals(58.33333, 1), 58.3);
  EXPECT_EQ(round_decimals(1234.5, -2), 1200);
}

}  // namespace
}  // namespace lagpilot::alerts
