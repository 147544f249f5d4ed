#include "tracing/sdk_tracer.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::tracing {
namespace {

template <std::size_t N>
void fill(std::array<std::uint8_t, N>& bytes, RandomSource& random) {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t word = random.next();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j) bytes[i + j] = (word >> (8 * j)) & 0xff;
    }
    // All-zero ids are invalid in OTLP and W3C trace context.
  } while (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
}

}  // namespace

SeededRandom::SeededRandom()
    : engine_((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

std::uint64_t SeededRandom::next() {
  std::lock_guard lock(mutex_);
  return engine_();
}

bool sample_trace(const TraceId& trace_id, double ratio) {
  if (!(ratio > 0)) return false;
  if (ratio >= 1) return true;
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  const auto bound = static_cast<std::uint64_t>(std::ldexp(ratio, 63));
  return (low >> 1) < bound;
}

class SdkTracer::RecordingSpan final : public Span {
 public:
  RecordingSpan(SdkTracer& tracer, SpanData data, bool sampled)
      : tracer_(tracer), data_(std::move(data)), sampled_(sampled) {}
  ~RecordingSpan() override { tracer_.finished(*this); }

  void set_attribute(const std::string& key, AttributeValue value) override {
    if (!sampled_) return;
    for (auto& [name, existing] : data_.attributes) {
      if (name == key) {
        existing = std::move(value);
        return;
      }
    }
    data_.attributes.emplace_back(key, std::move(value));
  }
  void set_error(const std::string& message) override {
    data_.error = true;
    data_.status_message = message;
  }
  std::string trace_id() const override { return sampled_ ? to_hex(data_.trace_id) : ""; }

  SpanData& data() { return data_; }
  bool sampled() const { return sampled_; }

 private:
  SdkTracer& tracer_;
  SpanData data_;
  bool sampled_;
};

SdkTracer::SdkTracer(Clock& clock, RandomSource& random, SpanSink& sink, double ratio)
    : clock_(clock), random_(random), sink_(sink), ratio_(std::clamp(ratio, 0.0, 1.0)) {}

SdkTracer::~SdkTracer() = default;

std::unique_ptr<Span> SdkTracer::start_span(const std::string& name, SpanKind kind) {
  SpanData data;
  data.name = name;
  data.kind = kind;
  data.start = clock_.now();
  fill(data.span_id, random_);
  bool sampled = false;
  {
    std::lock_guard lock(mutex_);
    auto& stack = active_[std::this_thread::get_id()];
    if (stack.empty()) {
      fill(data.trace_id, random_);
      sampled = sample_trace(data.trace_id, ratio_);
    } else {
      data.trace_id = stack.back().trace_id;
      data.parent_span_id = stack.back().span_id;
      sampled = stack.back().sampled;
    }
    stack.push_back({data.trace_id, data.span_id, sampled});
  }
  return std::make_unique<RecordingSpan>(*this, std::move(data), sampled);
}

std::string SdkTracer::active_trace_id() const {
  std::lock_guard lock(mutex_);
  auto found = active_.find(std::this_thread::get_id());
  if (found == active_.end() || found->second.empty() || !found->second.back().sampled) return "";
  return to_hex(found->second.back().trace_id);
}

bool SdkTracer::has_active_span() const {
  std::lock_guard lock(mutex_);
  auto found = active_.find(std::this_thread::get_id());
  return found != active_.end() && !found->second.empty();
}

SpanContext SdkTracer::active_context() const {
  std::lock_guard lock(mutex_);
  auto found = active_.find(std::this_thread::get_id());
  if (found == active_.end() || found->second.empty()) return {};
  const Active& active = found->second.back();
  return {active.trace_id, active.span_id, active.sampled};
}

// A carried context on this thread's stack of active spans, taken off when it ends.
class SdkTracer::Activation final : public ContextActivation {
 public:
  Activation(SdkTracer& tracer, SpanId span_id) : tracer_(tracer), span_id_(span_id) {}
  ~Activation() override { tracer_.deactivate(span_id_); }

 private:
  SdkTracer& tracer_;
  SpanId span_id_;
};

std::unique_ptr<ContextActivation> SdkTracer::activate(const SpanContext& parent) {
  if (!parent.valid()) return nullptr;
  {
    std::lock_guard lock(mutex_);
    active_[std::this_thread::get_id()].push_back(
        {parent.trace_id, parent.span_id, parent.sampled});
  }
  return std::make_unique<Activation>(*this, parent.span_id);
}

void SdkTracer::deactivate(const SpanId& span_id) {
  std::lock_guard lock(mutex_);
  auto found = active_.find(std::this_thread::get_id());
  if (found == active_.end()) return;
  auto& stack = found->second;
  auto it = std::find_if(stack.rbegin(), stack.rend(),
                         [&](const Active& a) { return a.span_id == span_id; });
  if (it != stack.rend()) stack.erase(std::next(it).base());
  if (stack.empty()) active_.erase(found);
}

void SdkTracer::finished(RecordingSpan& span) {
  deactivate(span.data().span_id);
  if (!span.sampled()) return;
  span.data().end = clock_.now();
  (void)sink_.offer(std::move(span.data()));
}

}  // namespace lagpilot::tracing
