// The alert summary template engine (alerts/summary_template.h). Invariants: parse never throws;
// an accepted template renders within kMaxLength bytes whatever the values, without cutting a
// UTF-8 character of valid UTF-8 text; text without "{{" renders as itself (cut to the limit); a
// rejected one says where or what ({{ at a character, or the unknown field).
#include <cstring>

#include "alerts/summary_template.h"
#include "fuzz/fuzz_check.h"

namespace {

using lagpilot::alerts::SummaryTemplate;
using lagpilot::alerts::TemplateValues;

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xE  ? 3
                               : (lead >> 3) == 0x1E ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = lagpilot::fuzz::text_of(data, size);
  const auto parsed = SummaryTemplate::parse(text);
  if (!parsed) {
    const std::string& message = parsed.error().message;
    FUZZ_CHECK(parsed.error().code == "InvalidSpec", parsed.error().code);
    FUZZ_CHECK(message.starts_with("unclosed {{ (at character ") ||
                   message.starts_with("empty {{ }}") || message.starts_with("unknown field {{ "),
               message);
    return 0;
  }
  FUZZ_CHECK(parsed->text() == text, parsed->text());

  // The values come from the input too: names, queues and metrics are user strings.
  TemplateValues values;
  const std::size_t half = text.size() / 2;
  values.name = std::string(text.substr(0, half));
  values.queue = std::string(text.substr(half));
  values.topic = values.queue;
  values.metric = "consumerLag";
  values.ns = "default";
  values.severity = "high";
  double number = 0;
  if (size >= sizeof number) std::memcpy(&number, data, sizeof number);
  values.value = number;
  values.threshold = number;
  const std::string rendered = parsed->render(values);
  FUZZ_CHECK(rendered.size() <= SummaryTemplate::kMaxLength, std::to_string(rendered.size()));
  values.value.reset();
  const std::string without_value = parsed->render(values);
  FUZZ_CHECK(without_value.size() <= SummaryTemplate::kMaxLength,
             std::to_string(without_value.size()));
  if (text.find("{{") == std::string_view::npos) {
    FUZZ_CHECK(
        rendered == lagpilot::alerts::truncate_utf8(std::string(text), SummaryTemplate::kMaxLength),
        rendered);
  }
  if (valid_utf8(text)) {
    const std::string cut = lagpilot::alerts::truncate_utf8(std::string(text), size / 3);
    FUZZ_CHECK(valid_utf8(cut) && cut.size() <= size / 3 && text.starts_with(cut), cut);
    if (valid_utf8(values.name) && valid_utf8(values.queue)) {
      FUZZ_CHECK(valid_utf8(rendered), rendered);
    }
  }
  return 0;
}
