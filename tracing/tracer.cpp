#include "tracing/tracer.h"

namespace lagpilot::tracing {
namespace {

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * N);
  for (std::uint8_t byte : bytes) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xf];
  }
  return text;
}

class NoopSpan final : public Span {
 public:
  void set_attribute(const std::string&, AttributeValue) override {}
  void set_error(const std::string&) override {}
  std::string trace_id() const override { return ""; }
};

}  // namespace

std::string to_hex(const TraceId& id) { return hex(id); }
std::string to_hex(const SpanId& id) { return hex(id); }

std::unique_ptr<Span> NoopTracer::start_span(const std::string&, SpanKind) {
  return std::make_unique<NoopSpan>();
}

std::function<std::function<void(int status)>(const std::string& verb, const std::string& target)>
kube_request_spans(Tracer& tracer) {
  return [&tracer](const std::string& verb,
                   const std::string& target) -> std::function<void(int status)> {
    if (!tracer.has_active_span()) return nullptr;
    auto span = std::shared_ptr<Span>(tracer.start_span("kube " + verb, SpanKind::kClient));
    span->set_attribute("http.request.method", verb);
    span->set_attribute("url.path", target.substr(0, target.find('?')));
    return [span](int status) mutable {
      span->set_attribute("http.response.status_code", std::int64_t{status});
      if (status == 0) span->set_error("no answer");
      if (status >= 400) span->set_error("HTTP " + std::to_string(status));
      span.reset();  // ends it, on the request's thread
    };
  };
}

}  // namespace lagpilot::tracing
