#include "operator/logging.h"

#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace lagpilot::operator_main {
namespace {

bool is_field_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  }
  return true;
}

std::string active_trace_id(const tracing::Tracer* tracer) {
  return tracer ? tracer->active_trace_id() : "";
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::shared_ptr<const tracing::Tracer> tracer)
      : tracer_(std::move(tracer)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto time = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[40];
    std::size_t used = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(stamp + used, sizeof stamp - used, ".%03dZ",
                  static_cast<int>(time.time_since_epoch().count() % 1000));
    std::string level(spdlog::level::to_string_view(msg.level).data(),
                      spdlog::level::to_string_view(msg.level).size());
    std::string line = json_log_line(
        stamp, level, std::string(msg.logger_name.data(), msg.logger_name.size()),
        std::string(msg.payload.data(), msg.payload.size()), active_trace_id(tracer_.get()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(tracer_);
  }

 private:
  std::shared_ptr<const tracing::Tracer> tracer_;
};

// %* in the text pattern: "trace_id=<id> " inside a sampled trace, nothing otherwise.
class TraceIdFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit TraceIdFlag(std::shared_ptr<const tracing::Tracer> tracer)
      : tracer_(std::move(tracer)) {}
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string id = active_trace_id(tracer_.get());
    if (id.empty()) return;
    std::string field = "trace_id=" + id + " ";
    dest.append(field.data(), field.data() + field.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TraceIdFlag>(tracer_);
  }

 private:
  std::shared_ptr<const tracing::Tracer> tracer_;
};

}  // namespace

std::string json_log_line(const std::string& timestamp, const std::string& level,
                          const std::string& logger, const std::string& message,
                          const std::string& trace_id) {
  nlohmann::ordered_json line;
  line["ts"] = timestamp;
  line["level"] = level;
  line["logger"] = logger.empty() ? "lagpilot" : logger;
  // Leading key=value tokens become fields; the rest is the message.
  std::size_t pos = 0;
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  while (pos < message.size()) {
    std::size_t end = message.find(' ', pos);
    std::string token =
        message.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto eq = token.find('=');
    if (eq == std::string::npos || !is_field_key(token.substr(0, eq))) break;
    std::string key = token.substr(0, eq);
    if (key == "reconcile") key = "reconcile_id";
    fields[key] = token.substr(eq + 1);
    if (end == std::string::npos) {
      pos = message.size();
      break;
    }
    pos = end + 1;
  }
  std::string text = message.substr(std::min(pos, message.size()));
  if (!text.empty() && text.front() == ':') text.erase(0, 1);
  while (!text.empty() && text.front() == ' ') text.erase(0, 1);
  line["msg"] = text;
  for (auto& [key, value] : fields.items()) line[key] = value;
  if (!trace_id.empty()) line["trace_id"] = trace_id;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void configure_logging(const std::string& level, const std::string& format,
                       std::shared_ptr<const tracing::Tracer> tracer) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("lagpilot", sink);
  bool json = format == "json" || (format == "auto" && !::isatty(STDERR_FILENO));
  if (json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(std::move(tracer)));
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<TraceIdFlag>('*', std::move(tracer))
        .set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %*%v");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace lagpilot::operator_main
