#pragma once
// Alert summaries: a Go-template subset. Text with {{ .field }} actions, where field is one of
// value, threshold, metric, queue, topic, name, namespace, severity (name and namespace are the
// QueueMonitor's; queue is what the source reads, whatever its kind; topic is Kafka's topic).
// Whitespace inside the braces is optional; "}}" outside an action is text. Anything else inside {{
// }} (pipelines, functions, variables) is rejected when the rule is parsed.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lagpilot::alerts {

struct TemplateValues {
  std::optional<double> value;  // rendered rounded to 3 significant digits; "unknown" when absent
  double threshold = 0;         // rendered exactly
  std::string metric;
  std::string queue;  // what the source reads: topic, queue, stream (or stream/consumer), query
  std::string topic;  // spec.source.kafka.topic; empty for other kinds
  std::string name;   // the QueueMonitor's
  std::string ns;     // the QueueMonitor's namespace
  std::string severity;
};

class SummaryTemplate {
 public:
  // Error message without a field path, e.g. "unclosed {{ (at character 9)", for the caller to
  // prefix with "spec.alerts[0].summary: ".
  static Result<SummaryTemplate> parse(std::string_view text);

  // Rendered text, at most kMaxLength bytes (cut at a UTF-8 character boundary).
  std::string render(const TemplateValues& values) const;
  const std::string& text() const { return text_; }

  static constexpr std::size_t kMaxLength = 1024;  // status.alerts[].summary maxLength

 private:
  enum class Field {
    kText,
    kValue,
    kThreshold,
    kMetric,
    kQueue,
    kTopic,
    kName,
    kNamespace,
    kSeverity
  };
  struct Segment {
    Field field = Field::kText;
    std::string text;  // with kText
  };

  std::string text_;
  std::vector<Segment> segments_;
};

// Cuts `text` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string text, std::size_t max_bytes);

}  // namespace lagpilot::alerts
