#include "metrics/queue_source.h"

#include <utility>

#include "metrics/kafka_client.h"
#include "metrics/kafka_source.h"

namespace lagpilot {

SourceContext::SourceContext(KafkaOptions kafka_options)
    : SourceContext(std::move(kafka_options), system_clock_) {}

SourceContext::SourceContext(KafkaOptions kafka_options, Clock& clock)
    : kafka_options_(std::move(kafka_options)),
      clock_(clock),
      kafka_clients_(std::make_unique<KafkaClientPool>(kafka_options_, clock_)) {}

SourceContext::~SourceContext() = default;

SourceContext::LiveSourceRegistration::LiveSourceRegistration(SourceContext& context)
    : live_sources_(context.live_sources_) {
  live_sources_.fetch_add(1);
}

SourceContext::LiveSourceRegistration::~LiveSourceRegistration() { live_sources_.fetch_sub(1); }

SourceFactory SourceFactory::with_builtin_sources(SourceContext& context) {
  SourceFactory factory(context);
  factory.add("kafka", &create_kafka_source);
  return factory;
}

void SourceFactory::add(std::string kind, Create create) {
  creators_[std::move(kind)] = std::move(create);
}

std::vector<std::string> SourceFactory::kinds() const {
  std::vector<std::string> names;
  for (const auto& [kind, create] : creators_) names.push_back(kind);
  return names;
}

Result<std::unique_ptr<QueueSource>> SourceFactory::create(
    const nlohmann::json& source_spec, const SourceCredentials& credentials) const {
  if (!source_spec.is_object() || source_spec.size() != 1) {
    std::string supported;
    for (const auto& kind : kinds()) supported += (supported.empty() ? "" : ", ") + kind;
    return Error{"InvalidSpec",
                 "spec.source: exactly one source kind required (supported: " + supported + ")"};
  }
  const auto entry = source_spec.begin();
  return create(entry.key(), entry.value(), credentials);
}

Result<std::unique_ptr<QueueSource>> SourceFactory::create(
    const std::string& kind, const nlohmann::json& kind_spec,
    const SourceCredentials& credentials) const {
  auto found = creators_.find(kind);
  if (found == creators_.end()) {
    std::string supported;
    for (const auto& name : kinds()) supported += (supported.empty() ? "" : ", ") + name;
    return Error{"InvalidSpec", "spec.source." + kind +
                                    ": unsupported source kind (supported: " + supported + ")"};
  }
  return found->second(kind_spec, credentials, context_);
}

}  // namespace lagpilot
