// lagpilot-demo (tools/demo/): its pure parts (flags, the load pattern, the summary, the plot) and
// real 20 s runs of the built tool (local control plane, the queue, consumers, operator): one on
// the default mock Kafka cluster, one per real server (--source rabbitmq, redis, nats).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/operator/operator_process.h"
#include "tools/demo/demo.h"
#include "tools/demo/demo_backend.h"
#include "tools/demo/demo_plot.h"
#include "tools/demo/live_view.h"
#include "tools/demo/load_pattern.h"
#include "tools/demo/recording.h"

namespace lagpilot::demo {
namespace {

using std::chrono::seconds;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the lagpilot-demo binary with `args`, stdout and stderr into `log_path`; interrupts it after
// `limit`. Returns the exit code, or -1 when it did not exit in time or died of a signal.
int run_demo_binary(const std::vector<std::string>& args, const std::string& log_path,
                    std::chrono::seconds limit) {
  testkit::OperatorProcess process(args, log_path);
  if (process.wait_exit(limit)) return *process.exit_code();
  process.signal(SIGINT);  // the demo cleans up on SIGINT
  process.wait_exit(seconds(15));
  return -1;  // killed on destruction if it is still running
}

// ---------------------------------------------------------------------------------------------
// Flags

TEST(DemoFlags, Defaults) {
  auto options = parse_demo_options({});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->duration, seconds(120));
  EXPECT_EQ(options->plot_path, "lagpilot-demo.svg");
  EXPECT_FALSE(options->use_kubeconfig);
  EXPECT_FALSE(options->keep);
  EXPECT_EQ(options->source, DemoSource::kKafka);
}

TEST(DemoFlags, Sources) {
  EXPECT_EQ(parse_demo_options({"--source", "kafka"})->source, DemoSource::kKafka);
  EXPECT_EQ(parse_demo_options({"--source", "rabbitmq"})->source, DemoSource::kRabbitMq);
  EXPECT_EQ(parse_demo_options({"--source=redis"})->source, DemoSource::kRedis);
  EXPECT_EQ(parse_demo_options({"--source", "nats"})->source, DemoSource::kNats);
  for (DemoSource source :
       {DemoSource::kKafka, DemoSource::kRabbitMq, DemoSource::kRedis, DemoSource::kNats}) {
    EXPECT_EQ(*parse_demo_source(source_name(source)), source);
  }
  auto bad = parse_demo_options({"--source", "sqs"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "--source: \"sqs\" is not one of kafka, rabbitmq, redis, nats");
  EXPECT_NE(parse_demo_options({"--source"}).error().message.find("--source: needs a value"),
            std::string::npos);
}

TEST(DemoFlags, AllFlagsInBothSpellings) {
  auto options = parse_demo_options(
      {"--duration", "20s", "--seed=7", "--plot", "/tmp/x.svg", "--use-kubeconfig", "--keep"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->duration, seconds(20));
  EXPECT_EQ(options->seed, 7u);
  EXPECT_EQ(options->plot_path, "/tmp/x.svg");
  EXPECT_TRUE(options->use_kubeconfig);
  EXPECT_TRUE(options->keep);
  EXPECT_FALSE(options->record_path.has_value());  // beside the plot
  EXPECT_EQ(parse_demo_options({"--record", "/tmp/run.csv"})->record_path, "/tmp/run.csv");
  EXPECT_TRUE(parse_demo_options({"-h"})->help);
  EXPECT_EQ(parse_demo_options({})->objective_seconds, 10);
  EXPECT_EQ(parse_demo_options({"--objective-seconds", "3"})->objective_seconds, 3);
  EXPECT_EQ(parse_demo_options({"--objective-seconds=30"})->objective_seconds, 30);
  for (const char* bad : {"0", "3601", "2.5", "-1", ""}) {
    auto options = parse_demo_options({"--objective-seconds", bad});
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_NE(options.error().message.find("--objective-seconds: \"" + std::string(bad) +
                                           "\" is not a whole number of seconds from 1 to 3600"),
              std::string::npos)
        << options.error().message;
  }
}

TEST(DemoFlags, Durations) {
  EXPECT_EQ(*parse_demo_duration("20s"), seconds(20));
  EXPECT_EQ(*parse_demo_duration("2m"), seconds(120));
  EXPECT_EQ(*parse_demo_duration("1m30s"), seconds(90));
  EXPECT_EQ(*parse_demo_duration("1.5m"), seconds(90));  // util/duration.h: fractions too
  EXPECT_EQ(*parse_demo_duration("1h"), seconds(3600));
  EXPECT_EQ(*parse_demo_duration("45"), seconds(45));
  for (const char* bad : {"", "0s", "2x", "1m30", "-5s", "s", "25h", "1500ms"}) {
    EXPECT_FALSE(parse_demo_duration(bad).ok()) << bad;
  }
}

TEST(DemoFlags, ErrorsNameTheFlag) {
  auto bad_duration = parse_demo_options({"--duration", "soon"});
  ASSERT_FALSE(bad_duration.ok());
  EXPECT_EQ(bad_duration.error().message.rfind("--duration: ", 0), 0u)
      << bad_duration.error().message;
  EXPECT_NE(parse_demo_options({"--seed", "x1"}).error().message.find("--seed"), std::string::npos);
  EXPECT_NE(parse_demo_options({"--plot"}).error().message.find("--plot"), std::string::npos);
  EXPECT_NE(parse_demo_options({"--keep=1"}).error().message.find("--keep"), std::string::npos);
  EXPECT_NE(parse_demo_options({"--record="}).error().message.find("--record: needs a file path"),
            std::string::npos);
  EXPECT_NE(parse_demo_options({"--speed", "2"}).error().message.find("unknown flag --speed"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Load pattern

TEST(DemoLoadPattern, SameSeedSameRates) {
  auto a = LoadPattern::generate(42, 120);
  auto b = LoadPattern::generate(42, 120);
  auto c = LoadPattern::generate(43, 120);
  bool differs = false;
  for (double t = 0; t < 120; t += 0.25) {
    EXPECT_DOUBLE_EQ(a.rate(t), b.rate(t)) << t;
    differs = differs || a.rate(t) != c.rate(t);
  }
  EXPECT_TRUE(differs);
  EXPECT_EQ(a.describe(), b.describe());
}

TEST(DemoLoadPattern, EveryDemoStartsWithABurstAndEndsCalm) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    for (double duration : {20.0, 120.0, 600.0}) {
      auto pattern = LoadPattern::generate(seed, duration);
      ASSERT_FALSE(pattern.bursts().empty());
      const Burst& first = pattern.bursts().front();
      EXPECT_LE(first.start + first.duration, 6.0);
      // The burst is well above one replica's 150 msg/s; the base rate is below it.
      EXPECT_GT(pattern.rate(first.start + 1), 500);
      EXPECT_LT(pattern.rate(first.start + first.duration + 2), 150);
      for (const auto& burst : pattern.bursts()) {
        if (&burst != &first) {
          EXPECT_LE(burst.start, duration - 25);
        }
      }
      for (double t = 0; t < duration; t += 0.5) {
        EXPECT_GT(pattern.rate(t), 0);
        EXPECT_LT(pattern.rate(t), 1500);  // below 10 replicas' capacity: the backlog can clear
      }
    }
  }
  EXPECT_GE(LoadPattern::generate(1, 120).bursts().size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Summary and plot

std::vector<Sample> ramp_samples() {
  std::vector<Sample> samples;
  for (int t = 1; t <= 10; ++t) {
    Sample s;
    s.t = t;
    s.arrivals = t < 5 ? 600 : 100;
    s.lag = t < 6 ? t * 400 : 0;
    s.lag_seconds = t < 6 ? t * 3.0 : 0.1;
    s.current = t < 3 ? 1 : (t < 8 ? 4 : 2);
    s.ready = s.current;
    samples.push_back(s);
  }
  return samples;
}

TEST(DemoSummary, CountsFromHistoryAndSamples) {
  nlohmann::json status = {{"scalingHistory",
                            {{{"time", "2026-01-01T00:00:08Z"},
                              {"from", 4},
                              {"to", 2},
                              {"policy", "drainTime"},
                              {"reason", "down"}},
                             {{"time", "2026-01-01T00:00:03Z"},
                              {"from", 1},
                              {"to", 4},
                              {"policy", "drainTime"},
                              {"reason", "up"}}}}};
  const double start = 1767225600;  // 2026-01-01T00:00:00Z
  auto events = scaling_events_from_status(status, start);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].reason, "up");  // oldest first
  EXPECT_DOUBLE_EQ(events[0].t, 3);
  RunSummary summary = summarize(ramp_samples(), events, 10);
  EXPECT_EQ(summary.scale_ups, 1);
  EXPECT_EQ(summary.scale_downs, 1);
  EXPECT_DOUBLE_EQ(summary.violation_seconds, 2);  // lagSeconds 12 and 15 > 10
  EXPECT_EQ(summary.max_lag, 2000);
  EXPECT_EQ(summary.peak_replicas, 4);
  EXPECT_DOUBLE_EQ(summary.replica_seconds, 1 + 1 + 4 * 5 + 2 * 3);
  RunInfo info;
  info.objective_seconds = 10;
  const std::string text = format_summary(summary, events, info);
  EXPECT_NE(text.find("scale-ups: 1, scale-downs: 1"), std::string::npos) << text;
  EXPECT_NE(text.find("max lag: 2,000 msgs"), std::string::npos) << text;
}

TEST(DemoSummary, Formatting) {
  EXPECT_EQ(thousands(0), "0");
  EXPECT_EQ(thousands(1234567), "1,234,567");
  EXPECT_EQ(thousands(-1000), "-1,000");
  EXPECT_EQ(format_duration(20), "20s");
  EXPECT_EQ(format_duration(120), "2m0s");
  EXPECT_EQ(format_duration(3725), "1h2m5s");
}

// ---------------------------------------------------------------------------------------------
// Recording (for lagpilot simulate --replay)

TEST(DemoRecording, PathsBesideThePlot) {
  EXPECT_EQ(default_recording_path("lagpilot-demo.svg"), "lagpilot-demo-run.csv");
  EXPECT_EQ(default_recording_path("/tmp/x/demo.svg"), "/tmp/x/demo-run.csv");
  EXPECT_EQ(default_recording_path("/tmp/x.d/plot"), "/tmp/x.d/plot-run.csv");
  EXPECT_EQ(recording_spec_path("/tmp/x/demo-run.csv"), "/tmp/x/demo-run-queuemonitor.yaml");
}

TEST(DemoRecording, HeaderAndOneRowPerSample) {
  std::vector<Sample> samples = ramp_samples();
  for (auto& s : samples) {
    s.arrived_count = static_cast<std::int64_t>(s.arrivals);
    s.processed_count = 100;
    s.consumers = s.ready;
  }
  samples[0].lag.reset();  // not polled yet: an empty field, not 0
  samples[0].lag_seconds.reset();
  // The operator scaled 1 -> 4 at 2.4 s; the consumers ran at 1.2 s (before) and 5.65 s.
  attach_change_times(samples, {2.4, 7.6}, {-3.0, 5.65});
  EXPECT_EQ(samples[2].spec_changed_at, 2.4);  // the interval (2, 3]
  EXPECT_EQ(samples[5].consumers_changed_at, 5.65);
  EXPECT_FALSE(samples[0].consumers_changed_at.has_value());  // before the load: not the run's

  RecordingInfo info;
  info.seed = 3;
  info.service_rate = 150;
  info.partitions = 12;
  info.pod_ready_delay = 3;
  info.commit_interval = 0.2;
  info.rebalance_pauses = {0.1, 0.3, 0.2};
  info.poll_interval = 1;
  info.objective_seconds = 10;
  info.initial_replicas = 1;
  info.spec_file = "demo-run-queuemonitor.yaml";
  RunSummary real = summarize(samples, {}, 10);
  const std::string csv = recording_csv(info, real, samples);
  for (const char* line :
       {"# serviceRate: 150\n", "# partitions: 12\n", "# podReadyDelay: 3\n",
        "# commitInterval: 0.2\n", "# rebalancePause: 0.2\n", "# rebalancePauses: 3\n",
        "# groupMembersVisible: false\n", "# pollInterval: 1\n", "# objective: 10\n",
        "# initialReplicas: 1\n", "# spec: demo-run-queuemonitor.yaml\n", "# violationSeconds: 2\n",
        "# replicaSeconds: 28\n",
        "time,arrivals,processed,lag,lagSeconds,replicasDesired,replicasReady,consumersRunning,"
        "specChangedAt,consumersChangedAt\n",
        "\n1,600,100,,,1,1,1,,\n", "\n3,600,100,1200,9,4,4,4,2.4,\n",
        "\n6,100,100,0,0.1,4,4,4,,5.65\n"}) {
    EXPECT_NE(csv.find(line), std::string::npos) << line << "\n" << csv;
  }
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 18 + 10);  // 17 keys, columns, 10 rows
}

TEST(DemoPlot, WellFormedSvgWithEveryPanel) {
  RunInfo info;
  info.seed = 3;
  info.objective_seconds = 10;
  info.per_replica_rate = 150;
  std::vector<ScalingEvent> scales = {{2.4, 1, 4, "drainTime", "", false},
                                      {7.6, 4, 2, "drainTime", "", false}};
  const std::string svg = render_svg(demo_plot(ramp_samples(), scales, info));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const char* text : {"arrivals", "consumer lag", "lagSeconds", "objective 10 s",
                           "replicas (spec)", "ready", "1→4", "4→2"}) {
    EXPECT_NE(svg.find(text), std::string::npos) << text;
  }
  // Tags open and close in balance (the plot uses no nesting beyond <svg> and <g>).
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = svg.find(needle); pos != std::string::npos; pos = svg.find(needle, pos + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("<g>"), count("</g>"));
  EXPECT_EQ(count("<text"), count("</text>"));
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

TEST(DemoPlot, CloseMarkersGetSeparateLabelRows) {
  RunInfo info;
  info.objective_seconds = 10;
  std::vector<ScalingEvent> scales = {{5.0, 2, 3, "drainTime", "", false},
                                      {5.2, 3, 6, "drainTime", "", false}};
  const std::string svg = render_svg(demo_plot(ramp_samples(), scales, info));
  auto label_y = [&](const std::string& label) {
    const auto end = svg.find(">" + label + "</text>");
    const auto tag = svg.rfind("<text", end);
    const auto y = svg.find(" y=\"", tag) + 4;
    return svg.substr(y, svg.find('"', y) - y);
  };
  EXPECT_NE(label_y("2→3"), label_y("3→6"));
}

// ---------------------------------------------------------------------------------------------
// The binary

// The run dir named in the demo's output ("export KUBECONFIG=<run dir>/kubeconfig") is gone, and
// so is every process that names it (etcd, kube-apiserver, the servers, which keep their files
// there) and every pid the set-up lines name ("(pid 123", "epmd pid 124").
void expect_nothing_left(const std::string& output) {
  std::smatch run_dir;
  ASSERT_TRUE(
      std::regex_search(output, run_dir, std::regex(R"(export KUBECONFIG=(\S+)/kubeconfig)")));
  EXPECT_FALSE(std::filesystem::exists(run_dir[1].str())) << run_dir[1].str();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = read_file(entry.path().string() + "/cmdline");
    EXPECT_EQ(cmdline.find(run_dir[1].str()), std::string::npos)
        << "still running: " << entry.path() << " " << cmdline;
  }
  const std::regex pid(R"(pid (\d+))");
  for (auto it = std::sregex_iterator(output.begin(), output.end(), pid);
       it != std::sregex_iterator(); ++it) {
    EXPECT_FALSE(std::filesystem::exists("/proc/" + (*it)[1].str()))
        << "still running: pid " << (*it)[1].str();
  }
}

class DemoBinary : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lagpilot-demo-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(DemoBinary, BadFlagIsOneLineAndExit2) {
  const std::string log = (dir_ / "bad-flag.log").string();
  EXPECT_EQ(run_demo_binary({"--duration", "forever"}, log, seconds(10)), 2);
  const std::string output = read_file(log);
  EXPECT_EQ(output,
            "lagpilot demo: --duration: \"forever\" is not a duration (e.g. 20s, 2m, 1m30s)\n");
  EXPECT_EQ(run_demo_binary({"--help"}, log, seconds(10)), 0);
  EXPECT_NE(read_file(log).find("--use-kubeconfig"), std::string::npos);
}

// The whole demo for 20 s: control plane, mock Kafka, consumers, operator. The load's first burst
// must make the operator scale up, and the quiet after it scale back down, within the 20 s.
TEST_F(DemoBinary, TwentySecondsScaleUpAndDownWithSummaryAndPlot) {
  const std::string log = (dir_ / "demo.log").string();
  const std::string plot = (dir_ / "demo.svg").string();
  const auto started = std::chrono::steady_clock::now();
  const int code = run_demo_binary({"--duration", "20s", "--plot", plot}, log, seconds(150));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string output = read_file(log);
  ASSERT_EQ(code, 0) << output;
  std::printf("lagpilot-demo --duration 20s took %.1f s\n", took);

  std::smatch counts;
  ASSERT_TRUE(
      std::regex_search(output, counts, std::regex(R"(scale-ups: (\d+), scale-downs: (\d+))")))
      << output;
  EXPECT_GE(std::stoi(counts[1]), 1) << output;
  EXPECT_GE(std::stoi(counts[2]), 1) << output;
  EXPECT_NE(output.find("export KUBECONFIG="), std::string::npos) << output;
  EXPECT_NE(output.find("scaling history (status.scalingHistory"), std::string::npos) << output;
  EXPECT_NE(output.find("seconds behind the objective"), std::string::npos) << output;
  EXPECT_NE(output.find("replica-seconds: "), std::string::npos) << output;
  EXPECT_NE(output.find("max lag: "), std::string::npos) << output;
  // Not a terminal: plain lines, no ANSI redraw.
  EXPECT_EQ(output.find("\x1b["), std::string::npos);
  EXPECT_NE(output.find("[  20s] arrivals"), std::string::npos) << output;

  ASSERT_TRUE(std::filesystem::exists(plot));
  const std::string svg = read_file(plot);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");

  // The recording beside the plot, for lagpilot simulate --replay, and its QueueMonitor.
  const std::string recording = read_file((dir_ / "demo-run.csv").string());
  EXPECT_NE(output.find("recording: " + (dir_ / "demo-run.csv").string()), std::string::npos)
      << output;
  for (const char* key :
       {"# serviceRate: 150\n", "# partitions: 12\n", "# podReadyDelay: 3\n",
        "# commitInterval: 0.2\n", "# groupMembersVisible: false\n", "# pollInterval: 1\n",
        "# objective: 10\n", "# initialReplicas: 1\n", "# spec: demo-run-queuemonitor.yaml\n",
        "# violationSeconds: ", "# replicaSeconds: ",
        "\ntime,arrivals,processed,lag,lagSeconds,replicasDesired,"
        "replicasReady,consumersRunning,specChangedAt,consumersChangedAt\n"}) {
    EXPECT_NE(recording.find(key), std::string::npos) << key << "\n" << recording;
  }
  std::istringstream rows(recording.substr(recording.find("\ntime,") + 1));
  std::string row;
  std::getline(rows, row);  // the column names
  int count = 0;
  int scaled_up_rows = 0;
  while (std::getline(rows, row)) {
    ++count;
    EXPECT_EQ(std::count(row.begin(), row.end(), ','), 9) << row;
    std::smatch fields;
    ASSERT_TRUE(std::regex_match(
        row, fields,
        std::regex(R"(([\d.]+),(\d+),(\d+),(\d*),([\d.]*),(\d+),(\d+),(\d+),([\d.]*),([\d.]*))")))
        << row;
    if (std::stoi(fields[6]) > 1) ++scaled_up_rows;
  }
  EXPECT_EQ(count, 20);
  EXPECT_GE(scaled_up_rows, 1);
  const std::string monitor = read_file((dir_ / "demo-run-queuemonitor.yaml").string());
  EXPECT_EQ(monitor.rfind("apiVersion: lagpilot.io/v1alpha1\nkind: QueueMonitor\n", 0), 0u)
      << monitor;
  EXPECT_NE(monitor.find("bootstrapServers: \"127.0.0.1:"), std::string::npos) << monitor;

  // It stopped what it started: the run dir (and with it the control plane) is gone.
  expect_nothing_left(output);
}

// --source rabbitmq|redis|nats: the real server on loopback, real consumers that acknowledge, for
// 20 s. The first burst must make the operator scale up, the consumers must drain it (processed
// nearly all that was produced, the last lag small), and the server must be stopped.
class DemoSourceRun : public DemoBinary, public ::testing::WithParamInterface<const char*> {};

TEST_P(DemoSourceRun, TwentySecondsScaleUpAndDrain) {
  const std::string source = GetParam();
  const std::string log = (dir_ / (source + ".log")).string();
  const std::string plot = (dir_ / (source + ".svg")).string();
  const auto started = std::chrono::steady_clock::now();
  // --objective-seconds 8 (default 10): the QueueMonitor, summary and recording take it.
  const int code = run_demo_binary(
      {"--source", source, "--duration", "20s", "--plot", plot, "--objective-seconds", "8"}, log,
      seconds(180));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string output = read_file(log);
  ASSERT_EQ(code, 0) << output;
  std::printf("lagpilot-demo --source %s --duration 20s took %.1f s\n", source.c_str(), took);
  EXPECT_NE(output.find("lagpilot demo: source " + source + ","), std::string::npos) << output;

  std::smatch counts;
  ASSERT_TRUE(
      std::regex_search(output, counts, std::regex(R"(scale-ups: (\d+), scale-downs: \d+)")))
      << output;
  EXPECT_GE(std::stoi(counts[1]), 1) << output;
  std::smatch messages;
  ASSERT_TRUE(std::regex_search(output, messages,
                                std::regex(R"(messages: produced ([\d,]+), processed ([\d,]+))")))
      << output;
  auto number = [](std::string text) {
    text.erase(std::remove(text.begin(), text.end(), ','), text.end());
    return std::stoll(text);
  };
  const long long produced = number(messages[1]);
  const long long processed = number(messages[2]);
  EXPECT_GT(produced, 1000) << output;  // the first burst alone is over 2,000
  EXPECT_GT(processed, 0) << output;
  EXPECT_GE(processed, produced - 500) << output;  // a few seconds of base load at most

  // The operator's last polls: the backlog is gone (the load ends calm).
  const std::string recording = read_file((dir_ / (source + "-run.csv")).string());
  std::istringstream rows(recording.substr(recording.find("\ntime,") + 1));
  std::string row, last;
  std::getline(rows, row);  // the column names
  int scaled_up_rows = 0;
  while (std::getline(rows, row)) {
    last = row;
    std::smatch fields;
    ASSERT_TRUE(std::regex_match(
        row, fields,
        std::regex(R"(([\d.]+),(\d+),(\d+),(\d*),([\d.]*),(\d+),(\d+),(\d+),([\d.]*),([\d.]*))")))
        << row;
    if (std::stoi(fields[6]) > 1) ++scaled_up_rows;
  }
  EXPECT_GE(scaled_up_rows, 1) << recording;
  std::smatch final_row;
  ASSERT_TRUE(std::regex_match(last, final_row, std::regex(R"([\d.]+,\d+,\d+,(\d+),.*)"))) << last;
  EXPECT_LE(std::stoll(final_row[1]), 500) << recording;

  const std::string monitor = read_file((dir_ / (source + "-run-queuemonitor.yaml")).string());
  const char* member = source == "rabbitmq" ? "\n    rabbitmq:\n"
                       : source == "redis"  ? "\n    redisStreams:\n"
                                            : "\n    natsJetStream:\n";
  EXPECT_NE(monitor.find(member), std::string::npos) << monitor;
  EXPECT_NE(monitor.find("127.0.0.1:"), std::string::npos) << monitor;
  EXPECT_NE(monitor.find("    targetDrainSeconds: 8\n"), std::string::npos) << monitor;
  EXPECT_NE(monitor.find("goodWhen: {op: \"<=\", threshold: 8}"), std::string::npos) << monitor;
  EXPECT_NE(recording.find("# objective: 8\n"), std::string::npos) << recording;
  EXPECT_NE(output.find("(lagSeconds > targetDrainSeconds 8 s)"), std::string::npos) << output;

  expect_nothing_left(output);
}

INSTANTIATE_TEST_SUITE_P(RealServers, DemoSourceRun, ::testing::Values("rabbitmq", "redis", "nats"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace lagpilot::demo
