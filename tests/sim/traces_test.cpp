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

TEST(Generators, FlashCrowdRisesWithinSecondsAndDecaysBackToBase) {
  auto flash = generate_trace("flash:base=100,peak=1100,at=10s,rise=5s,decay=1m", 1200, 1);
  ASSERT_TRUE(flash) << flash.error().message;
  EXPECT_EQ(flash->description, "flash:base=100,peak=1100,at=10s,rise=5s,decay=1m");
  EXPECT_EQ(flash->rates[9], 100);
  EXPECT_EQ(flash->rates[10], 300);  // a fifth of the rise in the first second
  EXPECT_EQ(flash->rates[14], 1100);
  EXPECT_EQ(flash->rates[15], 1100);
  EXPECT_NEAR(flash->rates[15 + 60], 100 + 1000 / std::exp(1.0), 1e-6);  // one time constant
  EXPECT_NEAR(flash->rates[1199], 100, 1e-3);
  EXPECT_TRUE(std::is_sorted(flash->rates.begin() + 15, flash->rates.end(), std::greater<>()));
}

TEST(Generators, ParetoBurstsHaveAHeavyTailCappedAtPeak) {
  auto trace = generate_trace("pareto:base=100,peak=3000,scale=100,alpha=1.2,gap=5m,length=1m",
                              30 * 86400, 7);
  ASSERT_TRUE(trace) << trace.error().message;
  // The height of every burst: a run of equal rates above base.
  std::vector<double> heights;
  for (std::size_t t = 1; t < trace->rates.size(); ++t) {
    if (trace->rates[t] > 100 && trace->rates[t] != trace->rates[t - 1]) {
      heights.push_back(trace->rates[t]);
    }
  }
  ASSERT_GT(heights.size(), 1000u);
  EXPECT_EQ(*std::min_element(trace->rates.begin(), trace->rates.end()), 100);
  EXPECT_EQ(*std::max_element(heights.begin(), heights.end()), 3000);  // the tail hits the cap
  std::sort(heights.begin(), heights.end());
  // Pareto(100, 1.2): the median excess is 100 * 2^(1/1.2) = 178, so most bursts are small.
  EXPECT_NEAR(heights[heights.size() / 2], 100 + 178, 30);
  auto again = generate_trace("pareto:base=100,peak=3000,scale=100,alpha=1.2,gap=5m,length=1m",
                              30 * 86400, 7);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rates, trace->rates);
}

TEST(Generators, DropFallsToAFractionAndComesBack) {
  auto drop = generate_trace("drop:base=1000,fraction=0.1,at=3s,length=4s", 10, 1);
  ASSERT_TRUE(drop) << drop.error().message;
  EXPECT_EQ(drop->rates,
            (std::vector<double>{1000, 1000, 1000, 100, 100, 100, 100, 1000, 1000, 1000}));
  auto bad = generate_trace("drop:fraction=2", 10, 1);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("trace drop: fraction: expected a fraction"));
}

// The fixed suite of bench_scaling must not move: its random traces are pinned.
TEST(Generators, FixedSuiteTracesKeepTheirNumbers) {
  auto bursts = generate_trace("bursts:base=1500,peak=9000,gap=10m,length=90s", 4 * 3600, 1);
  auto diurnal = generate_trace("diurnal:trough=600,peak=8000,period=4h", 4 * 3600, 1);
  ASSERT_TRUE(bursts && diurnal);
  EXPECT_NEAR(std::accumulate(bursts->rates.begin(), bursts->rates.end(), 0.0), 29778153.078212,
              1e-3);
  EXPECT_NEAR(std::accumulate(diurnal->rates.begin(), diurnal->rates.end(), 0.0), 62182065.521957,
              1e-3);
}

TEST(RandomizedTraces, EveryFamilyDrawsAValidTraceWithinTheLimits) {
  for (const std::string& family : randomized_trace_families()) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      auto drawn = randomized_trace(family, seed, 8000);
      ASSERT_TRUE(drawn) << family;
      EXPECT_EQ(drawn->description.substr(0, family.size() + 1), family + ":");
      auto trace = generate_trace(drawn->description, drawn->duration, seed);
      ASSERT_TRUE(trace) << drawn->description << ": " << trace.error().message;
      // Parameters come back as written: the description reruns the same trace.
      EXPECT_EQ(trace->description, drawn->description);
      const auto [low, high] = std::minmax_element(trace->rates.begin(), trace->rates.end());
      // diurnal's per-minute noise may add up to half of the rate.
      const double noise = family == "diurnal" ? 1.5 : 1.0;
      EXPECT_LE(*high, 8000 * noise) << drawn->description;
      EXPECT_GT(*low, 0) << drawn->description;
      EXPECT_LE(*high / *low, 30.5 * noise * noise) << drawn->description;
      EXPECT_GT(*high / *low, 1.5) << drawn->description;
    }
  }
}

TEST(RandomizedTraces, AreDeterministicPerSeedAndVaryAcrossSeeds) {
  for (const std::string& family : randomized_trace_families()) {
    auto a = randomized_trace(family, 3, 8000);
    auto b = randomized_trace(family, 3, 8000);
    auto c = randomized_trace(family, 4, 8000);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->description, b->description);
    EXPECT_EQ(a->duration, b->duration);
    EXPECT_NE(a->description, c->description) << family;
  }
  auto step = randomized_trace("step", 1, 8000);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->description, "step:base=73,peak=2085,at=21m56s,until=28m37s");
  EXPECT_FALSE(randomized_trace("constant", 1, 8000));
  EXPECT_FALSE(randomized_trace("step", 1, 8000, 1));
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
