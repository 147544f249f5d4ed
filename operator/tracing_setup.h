#pragma once
// The operator's tracing (docs/tracing.md): with --otlp-endpoint a recording tracer whose sampled
// spans an OTLP/HTTP exporter sends in the background; without it the no-op tracer.
#include <memory>
#include <string>

#include "tracing/tracer.h"
#include "util/clock.h"

namespace prometheus {
class Registry;
}

namespace lagpilot::operator_main {

struct TracingOptions {
  std::string otlp_endpoint;  // empty: tracing off
  double sampling_ratio = 1.0;
  std::string service_version;
};

class OperatorTracing {
 public:
  // Registers lagpilot_trace_spans_exported_total and lagpilot_trace_spans_dropped_total on
  // `registry` when tracing is on, and starts the exporter's thread.
  OperatorTracing(const TracingOptions& options, Clock& clock,
                  std::shared_ptr<prometheus::Registry> registry);
  ~OperatorTracing();  // stop()

  bool enabled() const;
  // Lives as long as any holder (the log formatter keeps it).
  std::shared_ptr<tracing::Tracer> tracer() const { return tracer_; }
  // Sends what is queued (one request, bounded by its timeout) and stops the exporter.
  void stop();

 private:
  struct Parts;
  std::shared_ptr<Parts> parts_;
  std::shared_ptr<tracing::Tracer> tracer_;
};

}  // namespace lagpilot::operator_main
