#pragma once
// Traces of the operator's own work (docs/tracing.md). A Tracer starts spans; a span ends when
// it is destroyed. Each thread has its own active span per tracer: a span started while another
// is active on the same thread is its child, so the Kubernetes client's request hook and the
// reconcile's phases nest without passing contexts around. Off (no --otlp-endpoint): the
// NoopTracer, whose spans record nothing.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "util/clock.h"

namespace lagpilot::tracing {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;
using AttributeValue = std::variant<std::string, std::int64_t, double, bool>;

// OTLP's SpanKind: INTERNAL for the reconcile's phases, CLIENT for calls to other servers.
enum class SpanKind { kInternal = 1, kClient = 3 };

// A finished span, as the exporter sends it.
struct SpanData {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  WallTime start;
  WallTime end;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  bool error = false;
  std::string status_message;  // with error
};

// Lower-case hex, as W3C traceparent and OTLP/JSON write ids.
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

class Span {
 public:
  virtual ~Span() = default;  // ends the span
  virtual void set_attribute(const std::string& key, AttributeValue value) = 0;
  // Marks the span failed (OTLP status ERROR) with a message.
  virtual void set_error(const std::string& message) = 0;
  // The trace's id in hex; "" when tracing is off or the trace is not sampled (not exported).
  virtual std::string trace_id() const = 0;
};

// Where a span sits in its trace, to carry with work handed to another thread (a queued status
// write): its trace, the span itself (the parent-to-be) and the trace's sampling decision.
struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = false;
  bool valid() const { return trace_id != TraceId{}; }  // false: no span
};

// While it lives, a carried SpanContext is its thread's active span (Tracer::activate).
class ContextActivation {
 public:
  virtual ~ContextActivation() = default;
};

class Tracer {
 public:
  virtual ~Tracer() = default;
  // A span that is the child of this thread's active span, or the root of a new trace when none
  // is active; it is the active span until it ends. Spans end in the reverse order they started.
  virtual std::unique_ptr<Span> start_span(const std::string& name,
                                           SpanKind kind = SpanKind::kInternal) = 0;
  // The trace id of this thread's active span; "" when none, unsampled, or tracing is off.
  virtual std::string active_trace_id() const = 0;
  // Whether this thread has an active span (sampled or not).
  virtual bool has_active_span() const = 0;
  // This thread's active span's context; invalid when none (and always, with tracing off).
  virtual SpanContext active_context() const { return {}; }
  // Makes `parent` (taken with active_context() on another thread) this thread's active span
  // until the returned object is destroyed: spans started meanwhile are its children, in its
  // trace, sampled as it was. nullptr (nothing changes) for an invalid context or tracing off.
  virtual std::unique_ptr<ContextActivation> activate(const SpanContext& parent) {
    (void)parent;
    return nullptr;
  }
};

class NoopTracer final : public Tracer {
 public:
  std::unique_ptr<Span> start_span(const std::string& name, SpanKind kind) override;
  std::string active_trace_id() const override { return ""; }
  bool has_active_span() const override { return false; }
};

// A span of an optional tracer (nullptr: nothing recorded), ended at the end of its scope: one
// line at a phase's call site.
class SpanScope {
 public:
  SpanScope(Tracer* tracer, const std::string& name, SpanKind kind = SpanKind::kInternal)
      : span_(tracer ? tracer->start_span(name, kind) : nullptr) {}
  template <typename T>
  SpanScope& set(const std::string& key, T value) {
    if (span_) span_->set_attribute(key, to_value(std::move(value)));
    return *this;
  }
  void set_error(const std::string& message) {
    if (span_) span_->set_error(message);
  }
  std::string trace_id() const { return span_ ? span_->trace_id() : ""; }
  void end() { span_.reset(); }

 private:
  static AttributeValue to_value(std::string value) { return value; }
  static AttributeValue to_value(const char* value) { return std::string(value); }
  static AttributeValue to_value(bool value) { return value; }
  static AttributeValue to_value(double value) { return value; }
  template <typename T>
  requires std::is_integral_v<T>
  static AttributeValue to_value(T value) { return static_cast<std::int64_t>(value); }
  std::unique_ptr<Span> span_;
};

// For kube::ClientOptions::around_request: each Kubernetes API exchange a CLIENT span
// "kube <VERB>" (attributes http.request.method, url.path, http.response.status_code; an error
// for no answer or a status of 400 and up), a child of the thread's active span. Requests made
// outside a trace (informers' lists, leases) get none.
std::function<std::function<void(int status)>(const std::string& verb, const std::string& target)>
kube_request_spans(Tracer& tracer);

}  // namespace lagpilot::tracing
