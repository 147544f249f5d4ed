#include "scaler/format.h"

#include <gtest/gtest.h>

#include <limits>

namespace lagpilot::scaler {
namespace {

TEST(FormatCount, GroupsThousands) {
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(48200), "48,200");
  EXPECT_EQ(format_count(1234567), "1,234,567");
}

TEST(FormatCount, HandlesNegativesIncludingTheMinimum) {
  EXPECT_EQ(format_count(-1234), "-1,234");
  EXPECT_EQ(format_count(std::numeric_limits<std::int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(FormatAmount, RoundsLargeValuesToGroupedIntegers) {
  EXPECT_EQ(format_amount(3400.0), "3,400");
  EXPECT_EQ(format_amount(410.4), "410");
  EXPECT_EQ(format_amount(99.96), "100");
  EXPECT_EQ(format_amount(1e6), "1,000,000");
}

TEST(FormatAmount, KeepsDecimalsOnlyWhereTheyMatter) {
  EXPECT_EQ(format_amount(12.34), "12.3");
  EXPECT_EQ(format_amount(40.0), "40");
  EXPECT_EQ(format_amount(2.5), "2.5");
  EXPECT_EQ(format_amount(0.25), "0.25");
  EXPECT_EQ(format_amount(0.0), "0");
  EXPECT_EQ(format_amount(-0.001), "0");
  EXPECT_EQ(format_amount(-2.5), "-2.5");
}

}  // namespace
}  // namespace lagpilot::scaler
