#include "alerts/summary_template.h"

#include <array>
#include <utility>

#include "alerts/condition.h"

namespace lagpilot::alerts {
namespace {

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

constexpr std::string_view kKnownFields =
    ".value, .threshold, .metric, .queue, .topic, .name, .namespace, .severity";

}  // namespace

Result<SummaryTemplate> SummaryTemplate::parse(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, Field>, 8> kFields{{
      {".value", Field::kValue},
      {".threshold", Field::kThreshold},
      {".metric", Field::kMetric},
      {".queue", Field::kQueue},
      {".topic", Field::kTopic},
      {".name", Field::kName},
      {".namespace", Field::kNamespace},
      {".severity", Field::kSeverity},
  }};
  SummaryTemplate parsed;
  parsed.text_ = std::string(text);
  std::size_t position = 0;
  while (position < text.size()) {
    const std::size_t open = text.find("{{", position);
    if (open == std::string_view::npos) {
      parsed.segments_.push_back({Field::kText, std::string(text.substr(position))});
      break;
    }
    if (open > position) {
      parsed.segments_.push_back(
          {Field::kText, std::string(text.substr(position, open - position))});
    }
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return Error{"InvalidSpec", "unclosed {{ (at character " + std::to_string(open + 1) + ")"};
    }
    const std::string_view action = trim(text.substr(open + 2, close - open - 2));
    bool found = false;
    for (const auto& [spelling, field] : kFields) {
      if (action == spelling) {
        parsed.segments_.push_back({field, ""});
        found = true;
        break;
      }
    }
    if (!found) {
      const std::string what =
          action.empty() ? "empty {{ }}" : "unknown field {{ " + std::string(action) + " }}";
      return Error{"InvalidSpec", what + " (known: " + std::string(kKnownFields) + ")"};
    }
    position = close + 2;
  }
  return parsed;
}

std::string SummaryTemplate::render(const TemplateValues& values) const {
  std::string out;
  for (const auto& segment : segments_) {
    switch (segment.field) {
      case Field::kText:
        out += segment.text;
        break;
      case Field::kValue:
        out += values.value ? format_number(round_significant(*values.value, 3)) : "unknown";
        break;
      case Field::kThreshold:
        out += format_number(values.threshold);
        break;
      case Field::kMetric:
        out += values.metric;
        break;
      case Field::kQueue:
        out += values.queue;
        break;
      case Field::kTopic:
        out += values.topic;
        break;
      case Field::kName:
        out += values.name;
        break;
      case Field::kNamespace:
        out += values.ns;
        break;
      case Field::kSeverity:
        out += values.severity;
        break;
    }
  }
  return truncate_utf8(std::move(out), kMaxLength);
}

std::string truncate_utf8(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

}  // namespace lagpilot::alerts
