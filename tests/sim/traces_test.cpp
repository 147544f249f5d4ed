#include "sim/traces.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>

#include "tests/sim/temp_path.h"

namespace lagpilot::sim {
namespace {

using ::testing::HasSubstr;

TEST(Generators, StepSpikeSawtoothAndRampHaveTheirShape) {
  auto step = generate_trace("step:base=100,peak=500,at=10s,until=20s", 30, 1);
  ASSERT_TRUE(step) << step.error().message;
  EXPECT_EQ(step->duration(), 30);
  EXPECT_EQ(step->rates[9], 100);
  EXPECT_EQ(step->rates[10], 500);
  EXPECT_EQ(step->rates[19], 500);
  EXPECT_EQ(step->rates[20], 100);
  EXPECT_EQ(step->description, "step:base=100,peak=500,at=10s,until=20s");

  auto spike = generate_trace("spike:base=1,peak=9,at=5s,length=2s", 10, 1);
  ASSERT_TRUE(spike);
  EXPECT_EQ(spike->rates, (std::vector<double>{1, 1, 1, 1, 1, 9, 9, 1, 1, 1}));

  auto saw = generate_trace("sawtooth:base=0,peak=100,period=10s", 20, 1);
  ASSERT_TRUE(saw);
  EXPECT_EQ(saw->rates[0], 0);
  EXPECT_EQ(saw->rates[5], 50);
  EXPECT_EQ(saw->rates[10], 0);

  auto ramp = generate_trace("ramp:base=0,peak=100", 100, 1);
  ASSERT_TRUE(ramp);
  EXPECT_EQ(ramp->rates[0], 0);
  EXPECT_EQ(ramp->rates[50], 100);
  EXPECT_EQ(ramp->rates[75], 50);

  auto constant = generate_trace("constant", 5, 1);
  ASSERT_TRUE(constant);
  EXPECT_EQ(constant->rates, std::vector<double>(5, 2000));
}

TEST(Generators, DefaultsScaleWithTheDuration) {
  auto step = generate_trace("step", 1000, 1);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->description, "step:base=2000,peak=6000,at=3m20s,until=10m");
}

TEST(Generators, DiurnalHasANightTroughAndAnAfternoonPeak) {
  auto day = generate_trace("diurnal:trough=1000,peak=9000,noise=0", 86400, 1);
  ASSERT_TRUE(day) << day.error().message;
  EXPECT_NEAR(day->rates[4 * 3600], 1000, 1);
  EXPECT_NEAR(day->rates[16 * 3600], 9000, 1);
  EXPECT_EQ(*std::min_element(day->rates.begin(), day->rates.end()), day->rates[4 * 3600]);
}

TEST(Generators, RandomTracesAreDeterministicForASeed) {
  for (const char* name : {"bursts", "diurnal"}) {
    auto a = generate_trace(name, 7200, 42);
    auto b = generate_trace(name, 7200, 42);
    auto c = generate_trace(name, 7200, 43);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->rates, b->rates) << name;
    EXPECT_NE(a->rates, c->rates) << name;
  }
  auto bursts = generate_trace("bursts:base=100,peak=1000,gap=5m,length=1m", 86400, 3);
  ASSERT_TRUE(bursts);
  const auto [low, high] = std::minmax_element(bursts->rates.begin(), bursts->rates.end());
  EXPECT_EQ(*low, 100);
  EXPECT_GT(*high, 400);
  EXPECT_LE(*high, 1000);
}

TEST(Generators, ErrorsNameTheGeneratorAndParameter) {
  auto unknown = generate_trace("stepp", 10, 1);
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("\"stepp\": unknown generator"));
  auto parameter = generate_trace("spike:peek=5", 10, 1);
  ASSERT_FALSE(parameter);
  EXPECT_THAT(
      parameter.error().message,
      HasSubstr("trace spike: peek: unknown parameter (spike takes base, peak, at, length)"));
  auto value = generate_trace("step:peak=lots", 10, 1);
  ASSERT_FALSE(value);
  EXPECT_THAT(value.error().message, HasSubstr("trace step: peak: expected a rate"));
  auto duration = generate_trace("spike:length=0s", 10, 1);
  ASSERT_FALSE(duration);
  EXPECT_THAT(duration.error().message, HasSubstr("length: expected a positive duration"));
  auto syntax = generate_trace("step:peak", 10, 1);
  ASSERT_FALSE(syntax);
  EXPECT_THAT(syntax.error().message, HasSubstr("expected key=value"));
  EXPECT_FALSE(generate_trace("step", 0, 1));
}

TEST(TraceCsv, RatesArePiecewiseConstant) {
  auto trace = parse_trace_csv(
      "# recorded 2026-01-05\n"
      "time,arrivals\n"
      "0, 100\n"
      "\n"
      "3,250.5  # a comment\n"
      "5,0\n",
      "t.csv", std::nullopt);
  ASSERT_TRUE(trace) << trace.error().message;
  EXPECT_EQ(trace->rates, (std::vector<double>{100, 100, 100, 250.5, 250.5, 0}));
  EXPECT_EQ(trace->name, "t.csv");

  auto longer = parse_trace_csv("2,10\n", "t.csv", 5);
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->rates, (std::vector<double>{0, 0, 10, 10, 10}));
}

TEST(TraceCsv, ErrorsNameTheFileLineAndField) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"0,100\n1,abc\n", "t.csv:2: arrivals: not a number: \"abc\""},
           Case{"0,100\n\n# x\nx1,5\n", "t.csv:4: time: not a number: \"x1\""},
           Case{"0,100\n5,1\n3,1\n", "t.csv:3: time: must increase: 3 after 5"},
           Case{"0,-4\n", "t.csv:1: arrivals: must be >= 0, got \"-4\""},
           Case{"0,1,2\n", "t.csv:1: row: expected 2 fields (time, arrivals), got 3"},
           Case{"1.5,3\n", "t.csv:1: time: expected whole seconds >= 0, got \"1.5\""},
           Case{"time;arrivals\n", "t.csv:1: header: expected 2 columns (time, arrivals), got 1"},
           Case{"# nothing\n", "t.csv: no rows"},
       }) {
    auto trace = parse_trace_csv(c.text, "t.csv", std::nullopt);
    ASSERT_FALSE(trace) << c.text;
    EXPECT_EQ(trace.error().code, "InvalidTrace");
    EXPECT_THAT(trace.error().message, HasSubstr(c.message)) << c.text;
  }
}

TEST(TraceCsv, ReadsFilesAndNamesMissingOnes) {
  const std::string path = temp_path("trace_test.csv");
  {
    std::ofstream out(path);
    out << "0,5\n2,7\n";
  }
  auto trace = load_trace(path, std::nullopt, 1);
  ASSERT_TRUE(trace) << trace.error().message;
  EXPECT_EQ(trace->rates, (std::vector<double>{5, 5, 7}));
  auto missing = load_trace("/nonexistent/trace.csv", std::nullopt, 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/trace.csv: cannot read trace file");
  EXPECT_TRUE(is_trace_generator("spike:peak=9000"));
  EXPECT_FALSE(is_trace_generator("spike.csv"));
  auto generated = load_trace("spike", std::nullopt, 1);
  ASSERT_TRUE(generated);
  EXPECT_EQ(generated->duration(), kDefaultGeneratedDuration);
}

}  // namespace
}  // namespace lagpilot::sim
