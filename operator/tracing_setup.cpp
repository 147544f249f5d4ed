#include "operator/tracing_setup.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <spdlog/spdlog.h>

#include "notify/http_sender.h"
#include "tracing/otlp_exporter.h"
#include "tracing/sdk_tracer.h"

namespace lagpilot::operator_main {

struct OperatorTracing::Parts {
  tracing::SeededRandom random;
  std::unique_ptr<tracing::OtlpHttpExporter> exporter;
  std::unique_ptr<tracing::SdkTracer> tracer;
};

OperatorTracing::OperatorTracing(const TracingOptions& options, Clock& clock,
                                 std::shared_ptr<prometheus::Registry> registry) {
  if (options.otlp_endpoint.empty()) {
    tracer_ = std::make_shared<tracing::NoopTracer>();
    return;
  }
  auto& exported = prometheus::BuildCounter()
                       .Name("lagpilot_trace_spans_exported_total")
                       .Help("Trace spans the OTLP receiver accepted.")
                       .Register(*registry)
                       .Add({});
  auto& dropped = prometheus::BuildCounter()
                      .Name("lagpilot_trace_spans_dropped_total")
                      .Help(
                          "Trace spans dropped: the export queue was full, or the OTLP receiver "
                          "was down, slow or refused them.")
                      .Register(*registry)
                      .Add({});
  tracing::OtlpExporterOptions exporter_options;
  exporter_options.endpoint = options.otlp_endpoint;
  exporter_options.service_version = options.service_version;
  // The counters live in the registry: the callbacks keep it alive.
  exporter_options.on_exported = [registry, &exported](std::size_t n) {
    exported.Increment(static_cast<double>(n));
  };
  exporter_options.on_dropped = [registry, &dropped](std::size_t n) {
    dropped.Increment(static_cast<double>(n));
  };
  parts_ = std::make_shared<Parts>();
  parts_->exporter = std::make_unique<tracing::OtlpHttpExporter>(
      exporter_options, notify::make_cpprest_http_sender(), clock);
  parts_->tracer = std::make_unique<tracing::SdkTracer>(clock, parts_->random, *parts_->exporter,
                                                        options.sampling_ratio);
  parts_->exporter->start();
  // Holders of the tracer keep every part alive.
  tracer_ = std::shared_ptr<tracing::Tracer>(parts_, parts_->tracer.get());
  spdlog::info("tracing: OTLP/HTTP to {}, sampling ratio {}",
               tracing::otlp_traces_url(options.otlp_endpoint), options.sampling_ratio);
}

OperatorTracing::~OperatorTracing() { stop(); }

bool OperatorTracing::enabled() const { return parts_ != nullptr; }

void OperatorTracing::stop() {
  if (parts_) parts_->exporter->stop();
}

}  // namespace lagpilot::operator_main
