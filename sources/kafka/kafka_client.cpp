#include "sources/kafka/kafka_client.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <set>
#include <sstream>
#include <utility>

#include "sources/kafka/bootstrap_servers.h"
#include "util/outage_gate.h"

namespace lagpilot {
namespace {

// librdkafka 2.0.2's admin request timeout cannot exceed one hour.
constexpr int kMaxAdminTimeoutMs = 3'600'000;
// Kafka's consumer group for the head-record reader; it only ever assign()s, so it never joins
// or commits.
constexpr const char* kHeadReaderGroup = "lagpilot-lag-probe";
// The group.id of the connection that sends the admin requests. It never subscribes, joins or
// commits; the id only makes librdkafka create the client's group handle. librdkafka 2.0.2
// dereferences that handle when an OffsetFetch (ListConsumerGroupOffsets) is answered
// NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, as a just-restarted coordinator answers, and
// crashes in a client without one (librdkafka #5040).
constexpr const char* kAdminClientGroup = kHeadReaderGroup;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string uppercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

int remaining_ms(const Clock& clock, SteadyDeadline deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.monotonic_now())
          .count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 3'600'000));
}

bool is_unreachable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

std::string error_code_for(rd_kafka_resp_err_t err) {
  if (is_unreachable(err)) return "SourceUnreachable";
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return "TopicNotFound";
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return "SourceAccessDenied";
    default:
      return "SourceError";
  }
}

// At most a few librdkafka warnings per window per client; a down broker otherwise logs a
// connection failure every reconnect attempt.
class LogRateLimiter {
 public:
  // Returns how many lines were dropped before this one, or nullopt to drop this one too.
  std::optional<int> admit(MonotonicTime now) {
    std::lock_guard lock(mutex_);
    if (now - window_start_ > kWindow) {
      window_start_ = now;
      admitted_ = 0;
    }
    if (admitted_ >= kLinesPerWindow) {
      ++dropped_;
      return std::nullopt;
    }
    ++admitted_;
    return std::exchange(dropped_, 0);
  }

 private:
  static constexpr auto kWindow = std::chrono::seconds(30);
  static constexpr int kLinesPerWindow = 5;
  std::mutex mutex_;
  MonotonicTime window_start_{};
  int admitted_ = 0;
  int dropped_ = 0;
};

// librdkafka's connection errors end in details that change with every retry ("(after 0ms in
// state CONNECT, 3 identical error(s) suppressed)"); they go into status messages, which must
// stay the same while the failure does.
std::string without_retry_details(const std::string& error) {
  const auto details = error.find(" (after ");
  if (details == std::string::npos) return error;
  int depth = 0;
  for (auto i = details + 1; i < error.size(); ++i) {
    if (error[i] == '(') ++depth;
    if (error[i] == ')' && --depth == 0) return error.substr(0, details) + error.substr(i + 1);
  }
  return error.substr(0, details);
}

// What librdkafka callbacks need about the client they report for. Outlives its rd_kafka_t.
struct CallbackContext {
  CallbackContext(std::string client_description, const Clock& client_clock)
      : description(std::move(client_description)), clock(client_clock) {}

  std::string description;  // KafkaConnectionSettings::describe(), no secrets
  const Clock& clock;
  LogRateLimiter log_limiter;
  std::mutex mutex;
  std::string last_error;

  void record_error(const std::string& error) {
    std::string stable = without_retry_details(error);
    std::lock_guard lock(mutex);
    last_error = std::move(stable);
  }
  std::string last_error_or(const std::string& fallback) {
    std::lock_guard lock(mutex);
    return last_error.empty() ? fallback : last_error;
  }
};

// What the cluster's connections last reported, for an unreachable-cluster error, with a hint where
// librdkafka's own words are obscure.
std::string last_broker_error(CallbackContext& context) {
  const std::string last = context.last_error_or("");
  if (last.empty()) return " (no broker answered within the poll timeout)";
  if (last.find("Invalid response size") != std::string::npos) {
    return " (last broker error: " + last +
           "; the server does not answer in the Kafka protocol: check the port, and that "
           "securityProtocol matches the listener)";
  }
  return " (last broker error: " + last + ")";
}

void route_librdkafka_log(CallbackContext& context, int level, const char* facility,
                          const char* message) {
  if (level > LOG_WARNING) {
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("kafka client={} librdkafka {}: {}", context.description, facility, message);
    }
    return;
  }
  const auto dropped = context.log_limiter.admit(context.clock.monotonic_now());
  if (!dropped) return;
  if (*dropped > 0) {
    spdlog::warn("kafka client={} librdkafka {}: {} ({} similar lines dropped)",
                 context.description, facility, message, *dropped);
  } else {
    spdlog::warn("kafka client={} librdkafka {}: {}", context.description, facility, message);
  }
}

// A librdkafka configuration that is destroyed unless handed to rd_kafka_new.
class ClientConfig {
 public:
  ClientConfig() : conf_(rd_kafka_conf_new()) {}
  ~ClientConfig() {
    if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
  }
  ClientConfig(const ClientConfig&) = delete;
  ClientConfig& operator=(const ClientConfig&) = delete;

  // `key` is reported on failure, never `value` (it may be a password).
  Status set(const std::string& key, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return Error{"SourceConfigError", "librdkafka property " + key + ": " + errstr};
    }
    return ok_status();
  }

  Status set_connection(const KafkaConnectionSettings& settings, const KafkaOptions& options) {
    const std::vector<std::pair<std::string, std::string>> properties = {
        {"bootstrap.servers", settings.bootstrap_servers},
        {"client.id", "lagpilot"},
        {"security.protocol", settings.security_protocol},
        {"socket.keepalive.enable", "true"},
        {"log.connection.close", "false"},
        {"reconnect.backoff.ms", "100"},
        {"reconnect.backoff.max.ms", std::to_string(std::max<int64_t>(
                                         100, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  options.reconnect_backoff_max)
                                                  .count()))},
        {"enable.auto.commit", "false"},
        {"allow.auto.create.topics", "false"},
    };
    for (const auto& [key, value] : properties) {
      if (auto status = set(key, value); !status) return status;
    }
    if (settings.security_protocol == "sasl_plaintext" ||
        settings.security_protocol == "sasl_ssl") {
      for (const auto& [key, value] : {std::pair{"sasl.mechanism", settings.sasl_mechanism},
                                       std::pair{"sasl.username", settings.sasl_username},
                                       std::pair{"sasl.password", settings.sasl_password}}) {
        if (auto status = set(key, value); !status) return status;
      }
    }
    if (!settings.ca_pem.empty() &&
        (settings.security_protocol == "ssl" || settings.security_protocol == "sasl_ssl")) {
      if (auto status = set("ssl.ca.pem", settings.ca_pem); !status) return status;
    }
    return ok_status();
  }

  rd_kafka_conf_t* get() { return conf_; }
  // rd_kafka_new took ownership.
  void release() { conf_ = nullptr; }

 private:
  rd_kafka_conf_t* conf_;
};

Result<std::vector<int64_t>> query_offsets(rd_kafka_t* rk, const std::string& description,
                                           const std::string& topic,
                                           const std::vector<int32_t>& partitions,
                                           int64_t which_end, SteadyDeadline deadline,
                                           CallbackContext& context) {
  if (partitions.empty()) return std::vector<int64_t>{};
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t partition : partitions) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = which_end;
  }
  const rd_kafka_resp_err_t err =
      rd_kafka_offsets_for_times(rk, list, std::max(1, remaining_ms(context.clock, deadline)));
  Result<std::vector<int64_t>> result = std::vector<int64_t>{};
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result =
        Error{error_code_for(err), "kafka " + description + ": listing offsets of topic " + topic +
                                       ": " + rd_kafka_err2str(err) +
                                       (is_unreachable(err) ? last_broker_error(context) : "")};
  } else {
    std::map<int32_t, int64_t> by_partition;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& element = list->elems[i];
      if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result =
            Error{error_code_for(element.err),
                  "kafka " + description + ": listing offsets of topic " + topic + " partition " +
                      std::to_string(element.partition) + ": " + rd_kafka_err2str(element.err)};
        break;
      }
      by_partition[element.partition] = element.offset;
    }
    if (result.ok()) {
      for (int32_t partition : partitions) {
        auto found = by_partition.find(partition);
        if (found == by_partition.end() || found->second < 0) {
          result = Error{"SourceError", "kafka " + description + ": no offset for topic " + topic +
                                            " partition " + std::to_string(partition)};
          break;
        }
        result->push_back(found->second);
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return result;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// KafkaConnectionSettings

Result<KafkaConnectionSettings> KafkaConnectionSettings::from(
    const std::string& bootstrap_servers, const SourceCredentials& credentials) {
  if (auto checked = check_bootstrap_servers(bootstrap_servers); !checked) return checked.error();
  KafkaConnectionSettings settings;
  std::set<std::string> servers;
  std::stringstream list(bootstrap_servers);
  for (std::string server; std::getline(list, server, ',');) {
    if (auto trimmed = trim(server); !trimmed.empty()) servers.insert(trimmed);
  }
  if (servers.empty()) {
    return Error{"InvalidSpec", "spec.source.kafka.bootstrapServers: required"};
  }
  for (const auto& server : servers) {
    if (!settings.bootstrap_servers.empty()) settings.bootstrap_servers += ",";
    settings.bootstrap_servers += server;
  }

  auto credential = [&](const std::string& key) -> std::string {
    auto found = credentials.find(key);
    return found == credentials.end() ? "" : trim(found->second);
  };
  settings.sasl_username = credential("sasl.username");
  // Passwords and certificates are used verbatim.
  if (auto found = credentials.find("sasl.password"); found != credentials.end()) {
    settings.sasl_password = found->second;
  }
  if (auto found = credentials.find("ca.crt"); found != credentials.end()) {
    settings.ca_pem = found->second;
  }
  std::string mechanism = uppercase(credential("sasl.mechanism"));
  const bool has_sasl =
      !settings.sasl_username.empty() || !mechanism.empty() || !settings.sasl_password.empty();

  settings.security_protocol = lowercase(credential("security.protocol"));
  if (settings.security_protocol.empty()) {
    settings.security_protocol =
        has_sasl ? "sasl_ssl" : (!settings.ca_pem.empty() ? "ssl" : "plaintext");
  }
  static const std::set<std::string> kProtocols = {"plaintext", "ssl", "sasl_plaintext",
                                                   "sasl_ssl"};
  if (!kProtocols.contains(settings.security_protocol)) {
    return Error{"InvalidCredentials",
                 "secret key security.protocol: must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, "
                 "SASL_SSL"};
  }
  const bool sasl_protocol = settings.security_protocol.starts_with("sasl_");
  if (sasl_protocol) {
    if (mechanism.empty()) mechanism = "PLAIN";
    static const std::set<std::string> kMechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
    if (!kMechanisms.contains(mechanism)) {
      return Error{"InvalidCredentials",
                   "secret key sasl.mechanism: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"};
    }
    if (settings.sasl_username.empty()) {
      return Error{"InvalidCredentials",
                   "secret key sasl.username: required for security.protocol " +
                       uppercase(settings.security_protocol)};
    }
    if (settings.sasl_password.empty()) {
      return Error{"InvalidCredentials",
                   "secret key sasl.password: required for security.protocol " +
                       uppercase(settings.security_protocol)};
    }
    settings.sasl_mechanism = mechanism;
  } else {
    if (has_sasl) {
      return Error{"InvalidCredentials",
                   "secret key security.protocol: SASL keys are set but security.protocol is " +
                       uppercase(settings.security_protocol)};
    }
  }
  if (settings.security_protocol == "plaintext" || settings.security_protocol == "sasl_plaintext") {
    settings.ca_pem.clear();  // no TLS: a CA is meaningless
  }
  return settings;
}

std::string KafkaConnectionSettings::describe() const {
  std::string text = "bootstrap=" + bootstrap_servers + " security=" + security_protocol;
  if (!sasl_mechanism.empty()) text += " mechanism=" + sasl_mechanism;
  if (!sasl_username.empty()) text += " user=" + sasl_username;
  if (!ca_pem.empty()) text += " ca=custom";
  return text;
}

// ---------------------------------------------------------------------------------------------
// Connection handle: one rd_kafka_t plus the admin requests in flight on it. Replaced as a whole
// when an admin request has been pending too long (see KafkaOptions::admin_recycle_age).

namespace {

struct PendingAdmin {
  MonotonicTime issued;
  std::vector<int32_t> partitions;  // committed offsets: order of the answer
  std::optional<std::promise<Result<std::vector<int64_t>>>> committed;
  std::optional<std::promise<Result<GroupMembers>>> members;
};

class ConnectionHandle {
 public:
  static Result<std::shared_ptr<ConnectionHandle>> open(const KafkaConnectionSettings& settings,
                                                        const KafkaOptions& options,
                                                        const Clock& clock) {
    auto handle =
        std::shared_ptr<ConnectionHandle>(new ConnectionHandle(settings.describe(), clock));
    ClientConfig config;
    if (auto status = config.set_connection(settings, options); !status) return status.error();
    if (auto status = config.set("group.id", kAdminClientGroup); !status) return status.error();
    rd_kafka_conf_set_opaque(config.get(), handle.get());
    rd_kafka_conf_set_log_cb(config.get(), &ConnectionHandle::on_log);
    rd_kafka_conf_set_background_event_cb(config.get(), &ConnectionHandle::on_background_event);
    char errstr[512];
    handle->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, config.get(), errstr, sizeof(errstr));
    if (handle->rk_ == nullptr) {
      return Error{"SourceConfigError",
                   "kafka " + handle->context_.description + ": cannot create client: " + errstr};
    }
    config.release();
    // Errors and other events for the application go to the background thread, which drains
    // them; nothing polls the main queue.
    rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(handle->rk_);
    rd_kafka_queue_t* background = rd_kafka_queue_get_background(handle->rk_);
    rd_kafka_queue_forward(main_queue, background);
    rd_kafka_queue_destroy(main_queue);
    rd_kafka_queue_destroy(background);
    return handle;
  }

  ~ConnectionHandle() {
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
    std::map<uint64_t, PendingAdmin> abandoned;
    {
      std::lock_guard lock(mutex_);
      abandoned.swap(pending_);
    }
    const Error closed{"SourceUnreachable", "kafka " + context_.description + ": client closed"};
    for (auto& [id, pending] : abandoned) {
      if (pending.committed) pending.committed->set_value(closed);
      if (pending.members) pending.members->set_value(closed);
    }
  }

  rd_kafka_t* rk() const { return rk_; }
  CallbackContext& context() { return context_; }

  uint64_t add_pending(PendingAdmin pending) {
    std::lock_guard lock(mutex_);
    const uint64_t id = next_request_id_++;
    pending_.emplace(id, std::move(pending));
    return id;
  }

  std::optional<Duration> oldest_pending_age() {
    std::lock_guard lock(mutex_);
    if (pending_.empty()) return std::nullopt;
    auto oldest = std::min_element(pending_.begin(), pending_.end(), [](auto& a, auto& b) {
      return a.second.issued < b.second.issued;
    });
    return context_.clock.monotonic_now() - oldest->second.issued;
  }

  // DescribeGroups is not implemented by librdkafka's mock cluster, and in 2.0.2 a refused admin
  // request corrupts later ones (use-after-free). Only ask clusters known not to be the mock.
  bool can_describe_groups() {
    const int known = can_describe_groups_.load();
    if (known >= 0) return known == 1;
    char* cluster_id = rd_kafka_clusterid(rk_, 0);
    if (cluster_id == nullptr) return false;  // not known yet: ask at a later poll
    const bool mock = std::string(cluster_id).starts_with("mockCluster");
    rd_kafka_mem_free(rk_, cluster_id);
    can_describe_groups_.store(mock ? 0 : 1);
    return !mock;
  }

 private:
  ConnectionHandle(std::string description, const Clock& clock)
      : context_(std::move(description), clock) {}

  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    auto* handle = static_cast<ConnectionHandle*>(rd_kafka_opaque(rk));
    if (handle != nullptr) route_librdkafka_log(handle->context_, level, facility, message);
  }

  // Runs on librdkafka's background thread.
  static void on_background_event(rd_kafka_t*, rd_kafka_event_t* event, void* opaque) {
    static_cast<ConnectionHandle*>(opaque)->handle_event(event);
    rd_kafka_event_destroy(event);
  }

  void handle_event(rd_kafka_event_t* event) {
    switch (rd_kafka_event_type(event)) {
      case RD_KAFKA_EVENT_ERROR:
        context_.record_error(rd_kafka_event_error_string(event));
        return;
      case RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT:
      case RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT:
        break;
      default:
        return;
    }
    const auto id = reinterpret_cast<uintptr_t>(rd_kafka_event_opaque(event));
    PendingAdmin pending;
    {
      std::lock_guard lock(mutex_);
      auto found = pending_.find(id);
      if (found == pending_.end()) return;
      pending = std::move(found->second);
      pending_.erase(found);
    }
    if (pending.committed) pending.committed->set_value(parse_committed(event, pending.partitions));
    if (pending.members) pending.members->set_value(parse_member_count(event));
  }

  Error event_error(rd_kafka_event_t* event, const std::string& what) const {
    const rd_kafka_resp_err_t err = rd_kafka_event_error(event);
    return Error{error_code_for(err), "kafka " + context_.description + ": " + what + ": " +
                                          rd_kafka_event_error_string(event)};
  }

  Result<std::vector<int64_t>> parse_committed(rd_kafka_event_t* event,
                                               const std::vector<int32_t>& partitions) const {
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return event_error(event, "reading committed offsets");
    }
    const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(event);
    size_t group_count = 0;
    const rd_kafka_group_result_t** groups =
        rd_kafka_ListConsumerGroupOffsets_result_groups(result, &group_count);
    if (group_count != 1) {
      return Error{"SourceError", "kafka " + context_.description +
                                      ": committed offsets: unexpected result for " +
                                      std::to_string(group_count) + " groups"};
    }
    if (const rd_kafka_error_t* error = rd_kafka_group_result_error(groups[0])) {
      return Error{error_code_for(rd_kafka_error_code(error)),
                   "kafka " + context_.description + ": committed offsets of group " +
                       rd_kafka_group_result_name(groups[0]) + ": " + rd_kafka_error_string(error)};
    }
    std::map<int32_t, int64_t> by_partition;
    if (const rd_kafka_topic_partition_list_t* list = rd_kafka_group_result_partitions(groups[0])) {
      for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& element = list->elems[i];
        if (element.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          return Error{error_code_for(element.err), "kafka " + context_.description +
                                                        ": committed offset of partition " +
                                                        std::to_string(element.partition) + ": " +
                                                        rd_kafka_err2str(element.err)};
        }
        by_partition[element.partition] = element.offset < 0 ? -1 : element.offset;
      }
    }
    std::vector<int64_t> committed;
    committed.reserve(partitions.size());
    for (int32_t partition : partitions) {
      auto found = by_partition.find(partition);
      committed.push_back(found == by_partition.end() ? -1 : found->second);
    }
    return committed;
  }

  Result<GroupMembers> parse_member_count(rd_kafka_event_t* event) const {
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return event_error(event, "describing group");
    }
    const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event);
    size_t group_count = 0;
    const rd_kafka_ConsumerGroupDescription_t** groups =
        rd_kafka_DescribeConsumerGroups_result_groups(result, &group_count);
    if (group_count != 1) return GroupMembers{};
    if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(groups[0])) {
      if (rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        return GroupMembers{0, true};
      }
      return Error{
          error_code_for(rd_kafka_error_code(error)),
          "kafka " + context_.description + ": describing group: " + rd_kafka_error_string(error)};
    }
    return GroupMembers{
        static_cast<int>(rd_kafka_ConsumerGroupDescription_member_count(groups[0])),
        rd_kafka_ConsumerGroupDescription_state(groups[0]) == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD};
  }

  rd_kafka_t* rk_ = nullptr;
  CallbackContext context_;
  std::mutex mutex_;
  std::map<uint64_t, PendingAdmin> pending_;
  uint64_t next_request_id_ = 1;
  std::atomic<int> can_describe_groups_{-1};  // -1: cluster id not seen yet
};

// A consumer that only assign()s partitions at given offsets to read one record from each.
class HeadReader {
 public:
  static Result<std::unique_ptr<HeadReader>> open(const KafkaConnectionSettings& settings,
                                                  const KafkaOptions& options, const Clock& clock) {
    auto reader = std::unique_ptr<HeadReader>(new HeadReader(settings.describe(), clock));
    ClientConfig config;
    if (auto status = config.set_connection(settings, options); !status) return status.error();
    const std::vector<std::pair<std::string, std::string>> properties = {
        {"group.id", kHeadReaderGroup},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        {"auto.offset.reset", "earliest"},  // committed offset already deleted: oldest record
        {"max.partition.fetch.bytes", "16384"},
        {"fetch.max.bytes", "4194304"},
        {"fetch.wait.max.ms", "10"},  // an idle long-poll would delay the next read
        {"queued.max.messages.kbytes", "16384"},
    };
    for (const auto& [key, value] : properties) {
      if (auto status = config.set(key, value); !status) return status.error();
    }
    rd_kafka_conf_set_opaque(config.get(), &reader->context_);
    rd_kafka_conf_set_log_cb(config.get(), &HeadReader::on_log);
    rd_kafka_conf_set_background_event_cb(config.get(), &HeadReader::on_background_event);
    char errstr[512];
    reader->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, config.get(), errstr, sizeof(errstr));
    if (reader->rk_ == nullptr) {
      return Error{"SourceConfigError", "kafka " + reader->context_.description +
                                            ": cannot create head reader: " + errstr};
    }
    config.release();
    rd_kafka_queue_t* main_queue = rd_kafka_queue_get_main(reader->rk_);
    rd_kafka_queue_t* background = rd_kafka_queue_get_background(reader->rk_);
    rd_kafka_queue_forward(main_queue, background);
    rd_kafka_queue_destroy(main_queue);
    rd_kafka_queue_destroy(background);
    return reader;
  }

  ~HeadReader() {
    // Never joined a group: nothing to leave or commit.
    if (rk_ != nullptr) rd_kafka_destroy_flags(rk_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

  Result<std::map<int32_t, HeadRecord>> read(const std::string& topic,
                                             const std::map<int32_t, int64_t>& start_offsets,
                                             SteadyDeadline deadline) {
    std::map<int32_t, HeadRecord> heads;
    if (start_offsets.empty()) return heads;
    rd_kafka_topic_partition_list_t* assignment =
        rd_kafka_topic_partition_list_new(static_cast<int>(start_offsets.size()));
    for (const auto& [partition, offset] : start_offsets) {
      rd_kafka_topic_partition_list_add(assignment, topic.c_str(), partition)->offset = offset;
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(rk_, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{"SourceError",
                   "kafka " + context_.description +
                       ": assigning partitions for head records: " + rd_kafka_err2str(err)};
    }
    // librdkafka waits in real time. A clock that only moves when told to (a test's) would never
    // reach the deadline here, so the waits that brought nothing are counted against it too.
    const int budget_ms = remaining_ms(context_.clock, deadline);
    int idle_ms = 0;
    while (heads.size() < start_offsets.size()) {
      const int wait_ms = std::min(remaining_ms(context_.clock, deadline), budget_ms - idle_ms);
      if (wait_ms <= 0) break;
      const int poll_ms = std::min(wait_ms, 100);
      rd_kafka_message_t* message = rd_kafka_consumer_poll(rk_, poll_ms);
      if (message == nullptr) {
        idle_ms += poll_ms;
        continue;
      }
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->rkt != nullptr &&
          topic == rd_kafka_topic_name(message->rkt)) {
        auto start = start_offsets.find(message->partition);
        if (start != start_offsets.end() && message->offset >= start->second &&
            !heads.contains(message->partition)) {
          rd_kafka_timestamp_type_t type;
          const int64_t timestamp_ms = rd_kafka_message_timestamp(message, &type);
          if (type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && timestamp_ms >= 0) {
            heads[message->partition] = {message->offset,
                                         WallTime{std::chrono::milliseconds(timestamp_ms)}};
          }
        }
      } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::debug("kafka client={} head reader: {}", context_.description,
                      rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_assign(rk_, nullptr);
    return heads;
  }

 private:
  HeadReader(std::string description, const Clock& clock)
      : context_(std::move(description), clock) {}

  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
    auto* context = static_cast<CallbackContext*>(rd_kafka_opaque(rk));
    if (context != nullptr) route_librdkafka_log(*context, level, facility, message);
  }

  static void on_background_event(rd_kafka_t*, rd_kafka_event_t* event, void* opaque) {
    if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_ERROR) {
      static_cast<CallbackContext*>(opaque)->record_error(rd_kafka_event_error_string(event));
    }
    rd_kafka_event_destroy(event);
  }

  rd_kafka_t* rk_ = nullptr;
  CallbackContext context_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// KafkaClient

struct KafkaClient::Impl {
  explicit Impl(const Clock& client_clock) : clock(client_clock) {}

  const Clock& clock;
  KafkaConnectionSettings settings;
  KafkaOptions options;
  std::string description;

  std::mutex handle_mutex;
  std::shared_ptr<ConnectionHandle> handle;
  int recycles = 0;

  std::timed_mutex head_reader_mutex;  // one assignment at a time
  std::unique_ptr<HeadReader> head_reader;

  // Topics whose metadata or ListOffsets request found no broker to answer. Without it each poll
  // of each monitor of a down cluster would hold a worker for the whole poll timeout, and a few
  // dozen such monitors would hold every worker and leave healthy clusters unpolled. By topic, so
  // that one broker that leads some topics can be down without failing the others' monitors.
  OutageGate outage;

  // Runs a blocking request about `topic` through the outage gate.
  template <typename Request>
  auto gated(const std::string& topic, Request&& request) {
    return outage.call(
        topic, "SourceUnreachable", [&] { return request(*current_handle()); },
        [](const auto& result) {
          return result.ok() || result.error().code != "SourceUnreachable";
        });
  }

  // The current handle, replaced first if an admin request on it is close to librdkafka's
  // timeout (the crash in librdkafka #4605 needs that timeout to fire while the handle lives).
  std::shared_ptr<ConnectionHandle> current_handle() {
    std::shared_ptr<ConnectionHandle> retired;  // destroyed after the lock is released
    std::lock_guard lock(handle_mutex);
    const auto age = handle->oldest_pending_age();
    if (age && *age >= options.admin_recycle_age) {
      auto fresh = ConnectionHandle::open(settings, options, clock);
      if (fresh.ok()) {
        spdlog::warn(
            "kafka client={} admin request pending for {}s: reconnecting to stay clear of "
            "librdkafka's admin timeout",
            description, std::chrono::duration_cast<std::chrono::seconds>(*age).count());
        retired = std::exchange(handle, std::move(fresh).value());
        ++recycles;
      }
    }
    return handle;
  }

  int admin_timeout_ms() const {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(options.admin_request_timeout)
            .count();
    return static_cast<int>(std::clamp<int64_t>(ms, 1, kMaxAdminTimeoutMs));
  }
};

KafkaClient::KafkaClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaClient::~KafkaClient() {
  impl_->head_reader.reset();
  impl_->handle.reset();
}

const KafkaConnectionSettings& KafkaClient::settings() const { return impl_->settings; }

void KafkaClient::recycle_if_admin_stuck() { impl_->current_handle(); }

int KafkaClient::recycle_count() const {
  std::lock_guard lock(impl_->handle_mutex);
  return impl_->recycles;
}

namespace {

// Partition ids of `topic` from one Metadata request.
Result<std::vector<int32_t>> read_topic_partitions(ConnectionHandle& handle,
                                                   const std::string& description,
                                                   const std::string& topic,
                                                   SteadyDeadline deadline) {
  rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(handle.rk(), topic.c_str(), nullptr);
  if (topic_handle == nullptr) {
    return Error{"SourceError", "kafka " + description + ": topic " + topic + ": " +
                                    rd_kafka_err2str(rd_kafka_last_error())};
  }
  const struct rd_kafka_metadata* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(handle.rk(), 0, topic_handle, &metadata,
                        std::max(1, remaining_ms(handle.context().clock, deadline)));
  rd_kafka_topic_destroy(topic_handle);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{error_code_for(err),
                 "kafka " + description + ": metadata for topic " + topic + ": " +
                     rd_kafka_err2str(err) +
                     (is_unreachable(err) ? last_broker_error(handle.context()) : "")};
  }
  Result<std::vector<int32_t>> result = std::vector<int32_t>{};
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic& topic_metadata = metadata->topics[t];
    if (topic != topic_metadata.topic) continue;
    if (topic_metadata.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = Error{error_code_for(topic_metadata.err), "kafka " + description + ": topic " +
                                                             topic + ": " +
                                                             rd_kafka_err2str(topic_metadata.err)};
      break;
    }
    for (int p = 0; p < topic_metadata.partition_cnt; ++p) {
      result->push_back(topic_metadata.partitions[p].id);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (result.ok() && result->empty()) {
    return Error{"TopicNotFound",
                 "kafka " + description + ": topic " + topic + " has no partitions"};
  }
  if (result.ok()) std::sort(result->begin(), result->end());
  return result;
}

}  // namespace

Result<std::vector<int32_t>> KafkaClient::topic_partitions(const std::string& topic,
                                                           SteadyDeadline deadline) {
  return impl_->gated(topic, [&](ConnectionHandle& handle) {
    return read_topic_partitions(handle, impl_->description, topic, deadline);
  });
}

Result<std::vector<int64_t>> KafkaClient::latest_offsets(const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         SteadyDeadline deadline) {
  return impl_->gated(topic, [&](ConnectionHandle& handle) {
    return query_offsets(handle.rk(), impl_->description, topic, partitions, RD_KAFKA_OFFSET_END,
                         deadline, handle.context());
  });
}

Result<std::vector<int64_t>> KafkaClient::earliest_offsets(const std::string& topic,
                                                           const std::vector<int32_t>& partitions,
                                                           SteadyDeadline deadline) {
  return impl_->gated(topic, [&](ConnectionHandle& handle) {
    return query_offsets(handle.rk(), impl_->description, topic, partitions,
                         RD_KAFKA_OFFSET_BEGINNING, deadline, handle.context());
  });
}

std::future<Result<std::vector<int64_t>>> KafkaClient::request_committed_offsets(
    const std::string& group, const std::string& topic, const std::vector<int32_t>& partitions) {
  auto handle = impl_->current_handle();
  PendingAdmin pending;
  pending.issued = impl_->clock.monotonic_now();
  pending.partitions = partitions;
  pending.committed.emplace();
  auto future = pending.committed->get_future();
  const uint64_t id = handle->add_pending(std::move(pending));

  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t partition : partitions) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  }
  rd_kafka_ListConsumerGroupOffsets_t* request =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(handle->rk(), RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options, impl_->admin_timeout_ms(), errstr,
                                            sizeof(errstr));
  rd_kafka_AdminOptions_set_opaque(options, reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
  rd_kafka_queue_t* background = rd_kafka_queue_get_background(handle->rk());
  rd_kafka_ListConsumerGroupOffsets(handle->rk(), &request, 1, options, background);
  rd_kafka_queue_destroy(background);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_ListConsumerGroupOffsets_destroy(request);
  return future;
}

std::future<Result<GroupMembers>> KafkaClient::request_group_member_count(
    const std::string& group) {
  auto handle = impl_->current_handle();
  if (!handle->can_describe_groups()) {
    std::promise<Result<GroupMembers>> unknown;
    unknown.set_value(GroupMembers{});
    return unknown.get_future();
  }
  PendingAdmin pending;
  pending.issued = impl_->clock.monotonic_now();
  pending.members.emplace();
  auto future = pending.members->get_future();
  const uint64_t id = handle->add_pending(std::move(pending));

  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(handle->rk(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options, impl_->admin_timeout_ms(), errstr,
                                            sizeof(errstr));
  rd_kafka_AdminOptions_set_opaque(options, reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
  const char* groups[] = {group.c_str()};
  rd_kafka_queue_t* background = rd_kafka_queue_get_background(handle->rk());
  rd_kafka_DescribeConsumerGroups(handle->rk(), groups, 1, options, background);
  rd_kafka_queue_destroy(background);
  rd_kafka_AdminOptions_destroy(options);
  return future;
}

Result<std::map<int32_t, HeadRecord>> KafkaClient::read_head_records(
    const std::string& topic, const std::map<int32_t, int64_t>& start_offsets,
    SteadyDeadline deadline) {
  std::unique_lock lock(impl_->head_reader_mutex, std::defer_lock);
  if (!lock.try_lock_for(deadline - impl_->clock.monotonic_now())) {
    return Error{"SourceUnreachable",
                 "kafka " + impl_->description + ": head reader busy until the poll deadline"};
  }
  if (!impl_->head_reader) {
    auto reader = HeadReader::open(impl_->settings, impl_->options, impl_->clock);
    if (!reader.ok()) return reader.error();
    impl_->head_reader = std::move(reader).value();
  }
  return impl_->head_reader->read(topic, start_offsets, deadline);
}

// ---------------------------------------------------------------------------------------------
// KafkaClientPool

KafkaClientPool::KafkaClientPool(KafkaOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

KafkaClientPool::~KafkaClientPool() = default;

Result<std::shared_ptr<KafkaClient>> KafkaClientPool::acquire(
    const KafkaConnectionSettings& settings) {
  std::lock_guard lock(mutex_);
  auto& slot = clients_[settings];
  if (auto client = slot.lock()) return client;

  auto impl = std::make_unique<KafkaClient::Impl>(clock_);
  impl->settings = settings;
  impl->options = options_;
  impl->description = settings.describe();
  auto handle = ConnectionHandle::open(settings, options_, clock_);
  if (!handle.ok()) {
    clients_.erase(settings);
    return handle.error();
  }
  impl->handle = std::move(handle).value();
  auto client = std::shared_ptr<KafkaClient>(new KafkaClient(std::move(impl)));
  slot = client;
  spdlog::info("kafka client={} opened ({} clients)", settings.describe(), clients_.size());
  return client;
}

std::size_t KafkaClientPool::size() const {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  return clients_.size();
}

}  // namespace lagpilot
