#include "tracing/otlp_exporter.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace lagpilot::tracing {
namespace {

using Json = nlohmann::json;

std::string unix_nanos(WallTime t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

Json any_value(const AttributeValue& value) {
  return std::visit(
      [](const auto& v) -> Json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) return {{"stringValue", v}};
        if constexpr (std::is_same_v<T, std::int64_t>) return {{"intValue", std::to_string(v)}};
        if constexpr (std::is_same_v<T, double>) return {{"doubleValue", v}};
        if constexpr (std::is_same_v<T, bool>) return {{"boolValue", v}};
      },
      value);
}

Json key_value(const std::string& key, const AttributeValue& value) {
  return {{"key", key}, {"value", any_value(value)}};
}

bool is_zero(const SpanId& id) {
  for (auto byte : id)
    if (byte) return false;
  return true;
}

Json encode_span(const SpanData& span) {
  Json attributes = Json::array();
  for (const auto& [key, value] : span.attributes) attributes.push_back(key_value(key, value));
  Json out = {{"traceId", to_hex(span.trace_id)},
              {"spanId", to_hex(span.span_id)},
              {"name", span.name},
              {"kind", static_cast<int>(span.kind)},
              {"startTimeUnixNano", unix_nanos(span.start)},
              {"endTimeUnixNano", unix_nanos(span.end)},
              {"attributes", std::move(attributes)}};
  if (!is_zero(span.parent_span_id)) out["parentSpanId"] = to_hex(span.parent_span_id);
  // STATUS_CODE_ERROR = 2; unset (0) otherwise.
  if (span.error) out["status"] = {{"code", 2}, {"message", span.status_message}};
  return out;
}

}  // namespace

std::string encode_otlp_json(const std::vector<SpanData>& spans, const std::string& service_name,
                             const std::string& service_version) {
  Json resource_attributes = Json::array({key_value("service.name", service_name)});
  if (!service_version.empty()) {
    resource_attributes.push_back(key_value("service.version", service_version));
  }
  Json encoded = Json::array();
  for (const auto& span : spans) encoded.push_back(encode_span(span));
  Json scope = {{"name", "lagpilot"}};
  if (!service_version.empty()) scope["version"] = service_version;
  Json request = {
      {"resourceSpans",
       Json::array({{{"resource", {{"attributes", std::move(resource_attributes)}}},
                     {"scopeSpans", Json::array({{{"scope", std::move(scope)},
                                                  {"spans", std::move(encoded)}}})}}})}};
  // Attribute values come from specs and servers: replace invalid UTF-8 rather than throw.
  return request.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string otlp_traces_url(const std::string& endpoint) {
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/traces";
}

OtlpHttpExporter::OtlpHttpExporter(OtlpExporterOptions options,
                                   std::shared_ptr<notify::HttpSender> sender, Clock& clock)
    : options_(std::move(options)),
      sender_(std::move(sender)),
      clock_(clock),
      url_(otlp_traces_url(options_.endpoint)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
}

OtlpHttpExporter::~OtlpHttpExporter() { stop(); }

bool OtlpHttpExporter::offer(SpanData span) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < options_.max_queue && !stopping_) {
      queue_.push_back(std::move(span));
      if (queue_.size() >= options_.max_batch) wake_.notify_one();
      return true;
    }
  }
  count_dropped(1);
  return false;
}

void OtlpHttpExporter::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  next_flush_ = clock_.now() + options_.flush_interval;
  thread_ = std::thread([this] { run(); });
}

void OtlpHttpExporter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    left = queue_.size();
    queue_.clear();
  }
  if (left) count_dropped(left);
}

void OtlpHttpExporter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (!stopping_) {
      clock_.wait_until(lock, wake_, next_flush_,
                        [&] { return stopping_ || queue_.size() >= options_.max_batch; });
    }
    // Once stop() was called: one more batch, then out.
    const bool last_round = stopping_;
    if (clock_.now() >= next_flush_) next_flush_ = clock_.now() + options_.flush_interval;
    if (!queue_.empty()) {
      std::vector<SpanData> batch;
      const std::size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = n;
      lock.unlock();
      send(std::move(batch));
      lock.lock();
      in_flight_ = 0;
    }
    if (last_round) return;
  }
}

void OtlpHttpExporter::send(std::vector<SpanData> batch) {
  notify::WebhookRequest request;
  request.url = url_;
  request.body = encode_otlp_json(batch, options_.service_name, options_.service_version);
  request.content_type = "application/json";
  request.timeout = options_.request_timeout;
  auto status = sender_->post(request, stop_.get_token());
  const bool ok = status && *status >= 200 && *status < 300;
  bool log_failure = false;
  bool log_recovery = false;
  {
    std::lock_guard lock(mutex_);
    if (ok) {
      exported_ += batch.size();
      log_recovery = failing_;
      failing_ = false;
    } else {
      log_failure = !failing_;
      failing_ = true;
    }
  }
  if (ok) {
    if (options_.on_exported) options_.on_exported(batch.size());
    if (log_recovery) spdlog::info("tracing: the OTLP receiver accepts spans again");
    return;
  }
  count_dropped(batch.size());
  if (log_failure) {
    spdlog::warn("tracing: OTLP export to {} failed ({}); spans are dropped until it answers", url_,
                 status ? "HTTP " + std::to_string(*status) : status.error().message);
  }
}

void OtlpHttpExporter::count_dropped(std::size_t n) {
  {
    std::lock_guard lock(mutex_);
    dropped_ += n;
  }
  if (options_.on_dropped) options_.on_dropped(n);
}

std::uint64_t OtlpHttpExporter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}
std::uint64_t OtlpHttpExporter::exported() const {
  std::lock_guard lock(mutex_);
  return exported_;
}
std::size_t OtlpHttpExporter::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}
std::size_t OtlpHttpExporter::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

}  // namespace lagpilot::tracing
