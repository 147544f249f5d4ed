#pragma once
// The recording Tracer: ids from an injected random source, times from the injected Clock, a
// parent-based ratio sampler, and finished sampled spans handed to a SpanSink (the OTLP exporter).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "tracing/tracer.h"

namespace lagpilot::tracing {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual std::uint64_t next() = 0;  // thread-safe
};

// std::mt19937_64 seeded from std::random_device.
class SeededRandom final : public RandomSource {
 public:
  SeededRandom();
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() override;

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

// Where finished, sampled spans go. offer() never blocks: false when the span was dropped.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual bool offer(SpanData span) = 0;
};

// Whether a new trace is sampled: OpenTelemetry's TraceIdRatioBased (the trace id's last 8 bytes,
// big-endian, shifted right once, below ratio * 2^63). Children follow their parent.
bool sample_trace(const TraceId& trace_id, double ratio);

class SdkTracer final : public Tracer {
 public:
  // `ratio` in [0, 1]: the share of new traces sampled (unsampled spans get ids, so the trace id
  // still appears in logs, but are not exported).
  SdkTracer(Clock& clock, RandomSource& random, SpanSink& sink, double ratio);
  ~SdkTracer() override;

  std::unique_ptr<Span> start_span(const std::string& name, SpanKind kind) override;
  std::string active_trace_id() const override;
  bool has_active_span() const override;
  SpanContext active_context() const override;
  std::unique_ptr<ContextActivation> activate(const SpanContext& parent) override;

 private:
  class RecordingSpan;
  class Activation;
  struct Active {
    TraceId trace_id;
    SpanId span_id;
    bool sampled;
  };
  void finished(RecordingSpan& span);
  void deactivate(const SpanId& span_id);

  Clock& clock_;
  RandomSource& random_;
  SpanSink& sink_;
  double ratio_;
  mutable std::mutex mutex_;
  std::map<std::thread::id, std::vector<Active>> active_;  // per thread, innermost last
};

}  // namespace lagpilot::tracing
