#pragma once
// Sends finished spans to an OTLP/HTTP receiver (POST <endpoint>/v1/traces, OTLP's JSON
// encoding), batched on a background thread. Bounded memory: a span offered while max_queue
// spans wait is dropped and counted; a batch the receiver refuses, or that fails or times out, is
// dropped and counted too (no retry: traces are best effort). offer() only takes a lock for a
// push, so a receiver that is down or slow never delays a reconcile.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "notify/http_sender.h"
#include "tracing/sdk_tracer.h"
#include "util/clock.h"

namespace lagpilot::tracing {

struct OtlpExporterOptions {
  std::string endpoint;  // base URL, e.g. http://jaeger-collector:4318; spans go to .../v1/traces
  std::string service_name = "lagpilot";
  std::string service_version;
  std::size_t max_queue = 2048;  // spans waiting; more are dropped
  std::size_t max_batch = 512;   // spans per request; a full batch is sent at once
  std::chrono::milliseconds flush_interval{5'000};    // a partial batch waits at most this long
  std::chrono::milliseconds request_timeout{10'000};  // one request, connect to last byte
  std::function<void(std::size_t)> on_dropped;        // spans dropped (queue full or send failed)
  std::function<void(std::size_t)> on_exported;       // spans the receiver accepted
};

// The OTLP/JSON body of one ExportTraceServiceRequest (ids in hex, times as decimal strings of
// nanoseconds since the Unix epoch, int attributes as strings: protobuf's JSON mapping).
std::string encode_otlp_json(const std::vector<SpanData>& spans, const std::string& service_name,
                             const std::string& service_version);

// "<endpoint>/v1/traces" (one slash between them).
std::string otlp_traces_url(const std::string& endpoint);

class OtlpHttpExporter final : public SpanSink {
 public:
  OtlpHttpExporter(OtlpExporterOptions options, std::shared_ptr<notify::HttpSender> sender,
                   Clock& clock);
  ~OtlpHttpExporter() override;  // stop()

  bool offer(SpanData span) override;
  void start();
  // Sends one last batch of what is queued (bounded by request_timeout), drops the rest, joins.
  void stop();

  std::uint64_t dropped() const;
  std::uint64_t exported() const;
  std::size_t queued() const;
  std::size_t in_flight() const;  // spans of the request being sent

 private:
  void run();
  void send(std::vector<SpanData> batch);
  void count_dropped(std::size_t n);

  OtlpExporterOptions options_;
  std::shared_ptr<notify::HttpSender> sender_;
  Clock& clock_;
  std::string url_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<SpanData> queue_;
  std::size_t in_flight_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t exported_ = 0;
  bool stopping_ = false;
  WallTime next_flush_;   // a partial batch goes out then
  bool failing_ = false;  // the last request failed: logged once per streak
  std::stop_source stop_;
  std::thread thread_;
};

}  // namespace lagpilot::tracing
