#include "alerts/summary_template.h"

#include <gtest/gtest.h>

namespace lagpilot::alerts {
namespace {

TemplateValues sample_values() {
  TemplateValues values;
  values.value = 48213;
  values.threshold = 5000;
  values.metric = "consumerLag";
  values.topic = "orders";
  values.queue = "orders-queue";
  values.name = "orders-monitor";
  values.ns = "shop";
  values.severity = "high";
  return values;
}

std::string render(const std::string& text, const TemplateValues& values = sample_values()) {
  auto parsed = SummaryTemplate::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? parsed->render(values) : "";
}

TEST(SummaryTemplate, RendersEveryField) {
  EXPECT_EQ(render("lag is {{ .value }} messages on {{ .topic }}"),
            "lag is 48200 messages on orders");
  EXPECT_EQ(render("{{ .metric }} > {{ .threshold }} in {{ .namespace }}/{{ .name }} "
                   "({{ .severity }})"),
            "consumerLag > 5000 in shop/orders-monitor (high)");
  EXPECT_EQ(render("behind on {{ .queue }}"), "behind on orders-queue");
}

TEST(SummaryTemplate, WhitespaceInsideBracesIsOptional) {
  EXPECT_EQ(render("{{.value}}|{{ .value}}|{{.value }}|{{  .value\t}}"), "48200|48200|48200|48200");
}

TEST(SummaryTemplate, TextWithoutActionsAndStrayClosingBracesStayText) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render("a }} b"), "a }} b");
  EXPECT_EQ(render(""), "");
}

TEST(SummaryTemplate, ValueIsRoundedThresholdIsExact) {
  TemplateValues values = sample_values();
  values.value = 0.42137;
  values.threshold = 0.4213;
  EXPECT_EQ(render("{{ .value }} vs {{ .threshold }}", values), "0.421 vs 0.4213");
  values.value.reset();
  EXPECT_EQ(render("{{ .value }}", values), "unknown");
}

TEST(SummaryTemplate, RejectsWhatItCannotRender) {
  struct Row {
    const char* text;
    const char* message;
  };
  const Row rows[] = {
      {"lag {{ .value", "unclosed {{ (at character 5)"},
      {"{{ .valu }}",
       "unknown field {{ .valu }} (known: .value, .threshold, .metric, .queue, .topic, .name, "
       ".namespace, .severity)"},
      {"{{ }}",
       "empty {{ }} (known: .value, .threshold, .metric, .queue, .topic, .name, .namespace, "
       ".severity)"},
      {"{{ .value | printf \"%d\" }}",
       "unknown field {{ .value | printf \"%d\" }} (known: .value, .threshold, .metric, .queue, "
       ".topic, .name, .namespace, .severity)"},
      {"{{ $value }}",
       "unknown field {{ $value }} (known: .value, .threshold, .metric, .queue, .topic, "
       ".name, .namespace, .severity)"},
  };
  for (const auto& row : rows) {
    auto parsed = SummaryTemplate::parse(row.text);
    ASSERT_FALSE(parsed.ok()) << row.text;
    EXPECT_EQ(parsed.error().message, row.message);
  }
}

TEST(SummaryTemplate, RenderedTextIsCutTo1024BytesOnACharacterBoundary) {
  std::string text(1023, 'x');
  text += "\xC3\xA9{{ .topic }}";  // 2-byte character straddling the limit
  EXPECT_EQ(render(text).size(), 1023u);
  EXPECT_EQ(truncate_utf8("abc", 10), "abc");
  EXPECT_EQ(truncate_utf8("a\xC3\xA9", 2), "a");
}

}  // namespace
}  // namespace lagpilot::alerts
