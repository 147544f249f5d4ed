// The tracer (ids, parent links, the sampler), the OTLP/JSON encoding, and the exporter against a
// real HTTP server on loopback: batching, a receiver that refuses, is down, or hangs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "notify/http_sender.h"
#include "tests/notify/test_http_server.h"
#include "tests/support/server_process.h"
#include "tracing/otlp_exporter.h"
#include "tracing/sdk_tracer.h"
#include "tracing/tracer.h"

namespace lagpilot::tracing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Keeps what it is offered.
class CollectingSink final : public SpanSink {
 public:
  bool offer(SpanData span) override {
    spans.push_back(std::move(span));
    return true;
  }
  std::vector<SpanData> spans;
};

// Counts up from 1: ids a test can predict.
class CountingRandom final : public RandomSource {
 public:
  std::uint64_t next() override { return ++value_; }

 private:
  std::uint64_t value_ = 0;
};

// Real-time polling of a background thread's state, with a deadline (not a timing assumption).
bool eventually(const std::function<bool()>& condition, seconds limit = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return condition();
}

TraceId trace_id_with_low(std::uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  return id;
}

TEST(SamplerTest, RatioComparesTheTraceIdsLowBytes) {
  EXPECT_FALSE(sample_trace(trace_id_with_low(0), 0.0));
  EXPECT_TRUE(sample_trace(trace_id_with_low(~0ULL), 1.0));
  // The bound for 0.5 is 2^62 on the low 8 bytes shifted right once.
  EXPECT_TRUE(sample_trace(trace_id_with_low((1ULL << 63) - 2), 0.5));
  EXPECT_FALSE(sample_trace(trace_id_with_low(1ULL << 63), 0.5));
  EXPECT_FALSE(sample_trace(trace_id_with_low(0), -1.0));
}

TEST(SamplerTest, SamplesAboutTheRatioOfRandomTraces) {
  SeededRandom random(1);
  int sampled = 0;
  for (int i = 0; i < 20'000; ++i) {
    TraceId id{};
    std::uint64_t high = random.next(), low = random.next();
    for (int b = 0; b < 8; ++b) {
      id[b] = static_cast<std::uint8_t>(high >> (8 * b));
      id[8 + b] = static_cast<std::uint8_t>(low >> (8 * b));
    }
    sampled += sample_trace(id, 0.25);
  }
  EXPECT_NEAR(sampled / 20'000.0, 0.25, 0.015);
}

TEST(SdkTracerTest, NestedSpansShareTheTraceAndLinkToTheirParent) {
  FakeClock clock;
  CountingRandom random;
  CollectingSink sink;
  SdkTracer tracer(clock, random, sink, 1.0);
  std::string root_trace;
  {
    SpanScope root(&tracer, "reconcile");
    root.set("lagpilot.monitor.name", "orders").set("lagpilot.reconcile.id", 7);
    root_trace = root.trace_id();
    EXPECT_EQ(tracer.active_trace_id(), root_trace);
    clock.advance(milliseconds(5));
    {
      SpanScope child(&tracer, "poll_source", SpanKind::kClient);
      child.set_error("broker down");
      clock.advance(milliseconds(3));
    }
    auto after = kube_request_spans(tracer)("PATCH", "/apis/x/status?fieldManager=lagpilot");
    after(409);
  }
  EXPECT_EQ(tracer.active_trace_id(), "");
  EXPECT_EQ(kube_request_spans(tracer)("GET", "/api/v1/pods"), nullptr) << "outside a trace";
  ASSERT_EQ(sink.spans.size(), 3u);  // in the order they ended
  const SpanData& child = sink.spans[0];
  const SpanData& kube = sink.spans[1];
  const SpanData& root = sink.spans[2];
  EXPECT_EQ(root.name, "reconcile");
  EXPECT_EQ(to_hex(root.trace_id), root_trace);
  EXPECT_EQ(root.parent_span_id, SpanId{});
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(kube.parent_span_id, root.span_id);
  EXPECT_NE(child.span_id, root.span_id);
  EXPECT_EQ(child.kind, SpanKind::kClient);
  EXPECT_TRUE(child.error);
  EXPECT_EQ(child.status_message, "broker down");
  EXPECT_EQ(child.end - child.start, milliseconds(3));
  EXPECT_EQ(root.end - root.start, milliseconds(8));
  EXPECT_EQ(kube.name, "kube PATCH");
  EXPECT_TRUE(kube.error);
  auto attribute = [](const SpanData& span, const std::string& key) {
    for (const auto& [k, v] : span.attributes)
      if (k == key) return v;
    return AttributeValue{std::string("<missing>")};
  };
  EXPECT_EQ(attribute(kube, "url.path"), AttributeValue{std::string("/apis/x/status")});
  EXPECT_EQ(attribute(kube, "http.response.status_code"), AttributeValue{std::int64_t{409}});
  EXPECT_EQ(attribute(root, "lagpilot.reconcile.id"), AttributeValue{std::int64_t{7}});
}

TEST(SdkTracerTest, AnUnsampledTraceExportsNothingAndLogsNoId) {
  FakeClock clock;
  SeededRandom random(3);
  CollectingSink sink;
  SdkTracer tracer(clock, random, sink, 0.0);
  {
    SpanScope root(&tracer, "reconcile");
    SpanScope child(&tracer, "read_spec");
    EXPECT_EQ(root.trace_id(), "");
    EXPECT_EQ(tracer.active_trace_id(), "");
  }
  EXPECT_TRUE(sink.spans.empty());
}

TEST(SdkTracerTest, EachThreadHasItsOwnActiveSpan) {
  FakeClock clock;
  SeededRandom random(4);
  CollectingSink sink;
  SdkTracer tracer(clock, random, sink, 1.0);
  SpanScope mine(&tracer, "reconcile");
  std::string other_trace;
  std::thread([&] {
    SpanScope theirs(&tracer, "reconcile");
    other_trace = theirs.trace_id();
  }).join();
  EXPECT_NE(other_trace, mine.trace_id());
  mine.end();
  ASSERT_EQ(sink.spans.size(), 2u);
  EXPECT_EQ(sink.spans[0].parent_span_id, SpanId{});  // a root, not a child of `mine`
}

// A status write queued for a writer thread: the span the writer starts under the carried
// context is a child of the span that queued it, in its trace.
TEST(SdkTracerTest, ACarriedContextMakesSpansOnAnotherThreadItsChildren) {
  FakeClock clock;
  SeededRandom random(5);
  CollectingSink sink;
  SdkTracer tracer(clock, random, sink, 1.0);
  SpanContext carried;
  SpanId write_status_id{};
  {
    SpanScope root(&tracer, "reconcile");
    SpanScope write_status(&tracer, "write_status");
    carried = tracer.active_context();
  }
  ASSERT_EQ(sink.spans.size(), 2u);
  write_status_id = sink.spans[0].span_id;
  ASSERT_EQ(sink.spans[0].name, "write_status");
  EXPECT_TRUE(carried.valid());
  EXPECT_TRUE(carried.sampled);
  EXPECT_EQ(carried.span_id, write_status_id);
  EXPECT_FALSE(tracer.active_context().valid());  // nothing active here any more
  bool active_after = true;
  std::string trace_inside;
  std::thread([&] {
    {
      auto activation = tracer.activate(carried);
      ASSERT_NE(activation, nullptr);
      trace_inside = tracer.active_trace_id();
      SpanScope patch(&tracer, "kube PATCH", SpanKind::kClient);
    }
    active_after = tracer.has_active_span();
  }).join();
  EXPECT_FALSE(active_after);
  EXPECT_EQ(trace_inside, to_hex(carried.trace_id));
  ASSERT_EQ(sink.spans.size(), 3u);
  EXPECT_EQ(sink.spans[2].name, "kube PATCH");
  EXPECT_EQ(sink.spans[2].trace_id, carried.trace_id);
  EXPECT_EQ(sink.spans[2].parent_span_id, write_status_id);
}

TEST(SdkTracerTest, AnUnsampledOrEmptyContextCarriesNoExport) {
  FakeClock clock;
  SeededRandom random(6);
  CollectingSink sink;
  SdkTracer tracer(clock, random, sink, 0.0);
  SpanContext carried;
  {
    SpanScope root(&tracer, "reconcile");
    carried = tracer.active_context();
  }
  EXPECT_TRUE(carried.valid());
  EXPECT_FALSE(carried.sampled);
  {
    auto activation = tracer.activate(carried);
    SpanScope patch(&tracer, "kube PATCH", SpanKind::kClient);
    EXPECT_EQ(patch.trace_id(), "");
  }
  EXPECT_TRUE(sink.spans.empty());
  EXPECT_EQ(tracer.activate(SpanContext{}), nullptr);
  NoopTracer noop;
  EXPECT_EQ(noop.activate(carried), nullptr);
  EXPECT_FALSE(noop.active_context().valid());
}

TEST(NoopTracerTest, RecordsNothing) {
  NoopTracer tracer;
  SpanScope span(&tracer, "reconcile");
  span.set("k", 1);
  EXPECT_EQ(span.trace_id(), "");
  EXPECT_EQ(tracer.active_trace_id(), "");
  SpanScope none(nullptr, "reconcile");
  EXPECT_EQ(none.trace_id(), "");
}

SpanData sample_span() {
  SpanData span;
  span.trace_id = trace_id_with_low(0x0102030405060708ULL);
  span.span_id = {0xaa, 0xbb, 0, 0, 0, 0, 0, 1};
  span.parent_span_id = {0, 0, 0, 0, 0, 0, 0, 2};
  span.name = "decide";
  span.start = WallTime{std::chrono::nanoseconds(1'700'000'000'123'456'789LL)};
  span.end = span.start + milliseconds(2);
  span.attributes = {{"s", std::string("text")},
                     {"i", std::int64_t{-12}},
                     {"d", 1.5},
                     {"b", true},
                     {"bad", std::string("\xff")}};
  span.error = true;
  span.status_message = "scale failed";
  return span;
}

TEST(OtlpJsonTest, EncodesTheProtobufJsonMapping) {
  SpanData root = sample_span();
  root.parent_span_id = {};
  root.error = false;
  auto body = json::parse(encode_otlp_json({sample_span(), root}, "lagpilot", "0.1.0"));
  const json& resource_spans = body["resourceSpans"][0];
  EXPECT_EQ(resource_spans["resource"]["attributes"][0],
            json::parse(R"({"key":"service.name","value":{"stringValue":"lagpilot"}})"));
  EXPECT_EQ(resource_spans["resource"]["attributes"][1]["value"]["stringValue"], "0.1.0");
  EXPECT_EQ(resource_spans["scopeSpans"][0]["scope"]["name"], "lagpilot");
  const json& spans = resource_spans["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  const json& span = spans[0];
  EXPECT_EQ(span["traceId"], "01000000000000000102030405060708");
  EXPECT_EQ(span["spanId"], "aabb000000000001");
  EXPECT_EQ(span["parentSpanId"], "0000000000000002");
  EXPECT_EQ(span["name"], "decide");
  EXPECT_EQ(span["kind"], 1);
  EXPECT_EQ(span["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(span["endTimeUnixNano"], "1700000000125456789");
  EXPECT_EQ(span["attributes"][0], json::parse(R"({"key":"s","value":{"stringValue":"text"}})"));
  EXPECT_EQ(span["attributes"][1], json::parse(R"({"key":"i","value":{"intValue":"-12"}})"));
  EXPECT_EQ(span["attributes"][2], json::parse(R"({"key":"d","value":{"doubleValue":1.5}})"));
  EXPECT_EQ(span["attributes"][3], json::parse(R"({"key":"b","value":{"boolValue":true}})"));
  EXPECT_EQ(span["attributes"][4]["value"]["stringValue"], "\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(span["status"], json::parse(R"({"code":2,"message":"scale failed"})"));
  EXPECT_FALSE(spans[1].contains("parentSpanId"));
  EXPECT_FALSE(spans[1].contains("status"));
}

TEST(OtlpJsonTest, TracesUrlJoinsWithOneSlash) {
  EXPECT_EQ(otlp_traces_url("http://c:4318"), "http://c:4318/v1/traces");
  EXPECT_EQ(otlp_traces_url("http://c:4318/"), "http://c:4318/v1/traces");
}

class ExporterTest : public ::testing::Test {
 protected:
  OtlpExporterOptions options(const std::string& endpoint) {
    OtlpExporterOptions o;
    o.endpoint = endpoint;
    o.service_version = "0.1.0";
    o.on_dropped = [this](std::size_t n) { dropped_metric_ += n; };
    o.on_exported = [this](std::size_t n) { exported_metric_ += n; };
    return o;
  }
  FakeClock clock_;
  std::shared_ptr<notify::HttpSender> sender_ = notify::make_cpprest_http_sender();
  std::atomic<std::size_t> dropped_metric_{0};
  std::atomic<std::size_t> exported_metric_{0};
};

TEST_F(ExporterTest, APartialBatchIsSentAfterTheFlushIntervalAsOtlpJson) {
  testkit::TestHttpServer receiver;
  auto o = options(receiver.url("/"));
  o.flush_interval = seconds(5);
  OtlpHttpExporter exporter(o, sender_, clock_);
  exporter.start();
  EXPECT_TRUE(exporter.offer(sample_span()));
  EXPECT_TRUE(exporter.offer(sample_span()));
  EXPECT_EQ(receiver.request_count(), 0u);
  clock_.advance(seconds(6));
  ASSERT_TRUE(receiver.wait_for_requests(1, seconds(20)));
  ASSERT_TRUE(eventually([&] { return exporter.exported() == 2; }));
  auto request = receiver.requests().front();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/v1/traces");
  EXPECT_EQ(request.headers["content-type"].rfind("application/json", 0), 0u);
  EXPECT_EQ(json::parse(request.body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size(), 2u);
  EXPECT_EQ(exported_metric_, 2u);
  EXPECT_EQ(exporter.dropped(), 0u);
}

TEST_F(ExporterTest, AFullBatchIsSentAtOnceAndStopSendsTheRest) {
  testkit::TestHttpServer receiver;
  auto o = options(receiver.url());
  o.max_batch = 3;
  OtlpHttpExporter exporter(o, sender_, clock_);
  exporter.start();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(exporter.offer(sample_span()));
  ASSERT_TRUE(receiver.wait_for_requests(1, seconds(20)));  // the clock never moved
  exporter.stop();
  EXPECT_EQ(exporter.exported(), 4u);
  ASSERT_EQ(receiver.request_count(), 2u);
  EXPECT_EQ(
      json::parse(receiver.requests()[1].body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size(),
      1u);
}

TEST_F(ExporterTest, ARefusedBatchIsDroppedAndCounted) {
  testkit::TestHttpServer receiver([](const auto&) {
    return testkit::HttpReply{400, R"({"message":"bad"})"};
  });
  auto o = options(receiver.url());
  o.max_batch = 2;
  OtlpHttpExporter exporter(o, sender_, clock_);
  exporter.start();
  exporter.offer(sample_span());
  exporter.offer(sample_span());
  ASSERT_TRUE(eventually([&] { return exporter.dropped() == 2; }));
  EXPECT_EQ(dropped_metric_, 2u);
  EXPECT_EQ(exporter.exported(), 0u);
}

TEST_F(ExporterTest, AReceiverThatIsDownCostsOnlyTheSpans) {
  const int closed_port = testkit::free_loopback_port();  // nothing listens there
  auto o = options("http://127.0.0.1:" + std::to_string(closed_port));
  o.max_batch = 2;
  OtlpHttpExporter exporter(o, sender_, clock_);
  exporter.start();
  exporter.offer(sample_span());
  exporter.offer(sample_span());
  ASSERT_TRUE(eventually([&] { return exporter.dropped() == 2; }));
  EXPECT_EQ(dropped_metric_, 2u);
  // Later spans are still taken (the exporter keeps trying with each batch).
  EXPECT_TRUE(exporter.offer(sample_span()));
}

// A receiver that never answers: the exporter's one request hangs, the queue fills, and further
// spans are dropped at once: offer() never waits for the receiver.
TEST_F(ExporterTest, AHangingReceiverNeverBlocksOfferAndDropsWhatDoesNotFit) {
  testkit::TestHttpServer receiver([](const auto&) {
    testkit::HttpReply reply;
    reply.hang = true;
    return reply;
  });
  auto o = options(receiver.url());
  o.max_batch = 2;
  o.max_queue = 4;
  o.request_timeout = seconds(2);
  OtlpHttpExporter exporter(o, sender_, clock_);
  exporter.start();
  exporter.offer(sample_span());
  exporter.offer(sample_span());
  ASSERT_TRUE(receiver.wait_for_requests(1, seconds(20)));
  ASSERT_EQ(exporter.in_flight(), 2u);  // that request hangs
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += exporter.offer(sample_span());
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ(exporter.queued(), 4u);
  EXPECT_EQ(exporter.dropped(), 6u);
  EXPECT_EQ(dropped_metric_, 6u);
  EXPECT_EQ(receiver.request_count(), 1u);
  // The hanging request times out (request_timeout): its spans are dropped too, and stop() drops
  // what is left after one more attempt.
  exporter.stop();
  EXPECT_EQ(exporter.exported(), 0u);
  EXPECT_EQ(exporter.dropped(), 12u);
  EXPECT_EQ(exporter.queued(), 0u);
}

}  // namespace
}  // namespace lagpilot::tracing
