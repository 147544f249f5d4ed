#include "tools/demo/demo_kafka.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>
#include <vector>

#include <spdlog/spdlog.h>

namespace lagpilot::demo {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// librdkafka logs go to the demo's log file, never to the terminal the live view draws on.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
  const auto spd = level <= 3 ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(spd, "kafka client={} {}: {}", rd_kafka_name(rk), facility, line);
}

Result<rd_kafka_t*> new_client(rd_kafka_type_t type, const std::string& bootstrap,
                               const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  auto all = properties;
  if (!bootstrap.empty()) all["bootstrap.servers"] = bootstrap;
  for (const auto& [key, value] : all) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error{"KafkaConfig", key + ": " + errstr};
    }
  }
  rd_kafka_conf_set_log_cb(conf, &log_to_spdlog);
  rd_kafka_t* client = rd_kafka_new(type, conf, errstr, sizeof errstr);  // owns conf on success
  if (client == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{"KafkaClient", errstr};
  }
  return client;
}

// librdkafka 2.0.2's mock thread can sleep through a command (topic creation, cluster destroy) for
// up to a second; any connection to a broker wakes it. Runs `command` while poking the brokers.
template <typename Command>
std::invoke_result_t<Command> with_broker_wakeups(const std::string& bootstrap, Command command) {
  std::vector<sockaddr_in> brokers;
  std::stringstream servers(bootstrap);
  for (std::string server; std::getline(servers, server, ',');) {
    const auto colon = server.rfind(':');
    if (colon == std::string::npos) continue;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(server.substr(colon + 1))));
    if (inet_pton(AF_INET, server.substr(0, colon).c_str(), &address.sin_addr) == 1)
      brokers.push_back(address);
  }
  std::atomic<bool> done{false};
  std::thread waker([&] {
    while (!done.load()) {
      for (auto address : brokers) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) continue;
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::close(fd);
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  struct Join {
    std::atomic<bool>& done;
    std::thread& thread;
    ~Join() {
      done.store(true);
      thread.join();
    }
  } join{done, waker};
  return command();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MockKafkaCluster

struct MockKafkaCluster::Impl {
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap;
  std::string topic;
  int partitions = 0;

  ~Impl() {
    if (cluster != nullptr) {
      with_broker_wakeups(bootstrap, [this] { rd_kafka_mock_cluster_destroy(cluster); });
    }
    if (host != nullptr) rd_kafka_destroy(host);
  }
};

MockKafkaCluster::MockKafkaCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MockKafkaCluster::~MockKafkaCluster() = default;

Result<std::unique_ptr<MockKafkaCluster>> MockKafkaCluster::start(const std::string& topic,
                                                                  int partitions, int brokers) {
  auto impl = std::make_unique<Impl>();
  auto host = new_client(RD_KAFKA_PRODUCER, "", {{"client.id", "lagpilot-demo-mock"}});
  if (!host) return host.error();
  impl->host = *host;
  impl->cluster = rd_kafka_mock_cluster_new(impl->host, brokers);
  if (impl->cluster == nullptr) return Error{"KafkaMock", "rd_kafka_mock_cluster_new failed"};
  impl->bootstrap = rd_kafka_mock_cluster_bootstraps(impl->cluster);
  impl->topic = topic;
  impl->partitions = partitions;
  const rd_kafka_resp_err_t err = with_broker_wakeups(impl->bootstrap, [&] {
    return rd_kafka_mock_topic_create(impl->cluster, topic.c_str(), partitions, 1);
  });
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{"KafkaMock", "create topic " + topic + ": " + rd_kafka_err2str(err)};
  return std::unique_ptr<MockKafkaCluster>(new MockKafkaCluster(std::move(impl)));
}

const std::string& MockKafkaCluster::bootstrap_servers() const { return impl_->bootstrap; }
const std::string& MockKafkaCluster::topic() const { return impl_->topic; }
int MockKafkaCluster::partitions() const { return impl_->partitions; }

// ---------------------------------------------------------------------------------------------
// LoadProducer

struct LoadProducer::Impl {
  std::string bootstrap;
  std::string topic;
  int partitions = 1;
  LoadPattern pattern;
  std::mt19937_64 partition_picker;
  rd_kafka_t* producer = nullptr;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> produced{0};

  Impl(const MockKafkaCluster& cluster, LoadPattern load, std::uint64_t seed)
      : bootstrap(cluster.bootstrap_servers()),
        topic(cluster.topic()),
        partitions(cluster.partitions()),
        pattern(std::move(load)),
        partition_picker(seed) {}

  void run() {
    const auto start = Clock::now();
    auto previous = start;
    double due = 0;  // records the pattern asked for so far
    std::int64_t sent = 0;
    std::uniform_int_distribution<int> pick(0, partitions - 1);
    while (!stop.load()) {
      const auto now = Clock::now();
      const double t = std::chrono::duration<double>(now - start).count();
      const double dt = std::chrono::duration<double>(now - previous).count();
      previous = now;
      due += pattern.rate(t) * dt;
      while (sent < static_cast<std::int64_t>(due) && !stop.load()) {
        const std::string value = "order-" + std::to_string(sent);
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(pick(partition_picker)),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer, 10);
          continue;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          spdlog::warn("demo producer: {}", rd_kafka_err2str(err));
          break;
        }
        ++sent;
        produced.store(sent);
      }
      rd_kafka_poll(producer, 0);
      std::this_thread::sleep_until(now + milliseconds(10));
    }
  }
};

LoadProducer::LoadProducer(const MockKafkaCluster& cluster, LoadPattern pattern, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(cluster, std::move(pattern), seed)) {}

LoadProducer::~LoadProducer() { stop(); }

Status LoadProducer::start() {
  auto producer = new_client(RD_KAFKA_PRODUCER, impl_->bootstrap,
                             {{"client.id", "lagpilot-demo-producer"},
                              {"linger.ms", "5"},
                              {"acks", "1"},
                              {"enable.idempotence", "false"}});
  if (!producer) return producer.error();
  impl_->producer = *producer;
  // Learn the partition leaders first: a record queued before that can wait a second.
  rd_kafka_topic_t* topic = rd_kafka_topic_new(impl_->producer, impl_->topic.c_str(), nullptr);
  const struct rd_kafka_metadata* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->producer, 0, topic, &metadata, 5000);
  rd_kafka_topic_destroy(topic);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Error{"KafkaMetadata", std::string("producer metadata: ") + rd_kafka_err2str(err)};
  rd_kafka_metadata_destroy(metadata);
  impl_->thread = std::thread([this] { impl_->run(); });
  return Ok{};
}

void LoadProducer::stop() {
  impl_->stop.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->producer != nullptr) {
    (void)rd_kafka_flush(impl_->producer, 2000);
    rd_kafka_destroy(impl_->producer);
    impl_->producer = nullptr;
  }
}

std::int64_t LoadProducer::produced() const { return impl_->produced.load(); }

// ---------------------------------------------------------------------------------------------
// ConsumerFleet

namespace {

using Offsets = std::map<std::int32_t, std::int64_t>;  // partition -> next offset to process

// One replica: a librdkafka consumer that processes at most `rate` records/s from the partitions
// it is assigned and commits what it processed (every 200 ms, and before giving partitions up).
// It starts each partition where the previous owner stopped (or at the group's committed offset)
// and takes each record once: anything else (a record prefetched before a reassignment) is
// dropped. Every librdkafka call on its handle happens on its own thread.
class Worker {
 public:
  // `on_pause`: seconds from the start of a reassignment to this worker's first record after it.
  Worker(rd_kafka_t* consumer, std::string topic, double rate, std::atomic<std::int64_t>& processed,
         std::function<void(double)> on_pause)
      : consumer_(consumer),
        topic_(std::move(topic)),
        rate_(rate),
        processed_(processed),
        on_pause_(std::move(on_pause)) {
    rd_kafka_poll_set_consumer(consumer_);
    thread_ = std::thread([this] { run(); });
  }

  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    (void)rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // `start`: where to begin on each partition; partitions missing there start at the group's
  // committed offset.
  // `since`: when the reassignment started (the pause is measured from there).
  void assign(std::vector<std::int32_t> partitions, Offsets start, Clock::time_point since) {
    {
      std::lock_guard lock(mutex_);
      pending_assignment_ = std::move(partitions);
      pending_start_ = std::move(start);
      pending_since_ = since;
    }
    cv_.notify_all();
  }

  // Asks the worker to commit and give up its partitions; wait_revoked() waits for it and returns
  // where it stopped on each partition it had consumed from.
  void request_revoke() {
    {
      std::lock_guard lock(mutex_);
      revoke_requested_ = true;
      revoked_ = false;
    }
    cv_.notify_all();
  }
  Offsets wait_revoked() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return revoked_ || stop_; });
    return released_;
  }

 private:
  void run() {
    double tokens = 0;
    auto last_refill = Clock::now();
    auto last_commit = Clock::now();
    while (true) {
      std::optional<std::vector<std::int32_t>> assignment;
      Offsets start;
      bool revoke = false;
      {
        std::unique_lock lock(mutex_);
        if (owned_.empty() && !revoke_requested_ && !pending_assignment_ && !stop_) {
          cv_.wait_for(lock, milliseconds(100));
        }
        if (stop_) break;
        revoke = revoke_requested_;
        if (revoke) {
          // An assignment not taken up yet was superseded by this revoke (rebalances can follow
          // each other within milliseconds as pods become ready one by one).
          pending_assignment_.reset();
          pending_start_.clear();
        } else {
          assignment.swap(pending_assignment_);
          start.swap(pending_start_);
          if (assignment) paused_since_ = pending_since_;
        }
      }
      if (revoke) {
        commit(false);
        (void)rd_kafka_assign(consumer_, nullptr);
        Offsets released = positions_;
        positions_.clear();
        committed_.clear();
        owned_.clear();
        paused_since_.reset();
        {
          std::lock_guard lock(mutex_);
          released_ = std::move(released);
          revoke_requested_ = false;
          revoked_ = true;
        }
        cv_.notify_all();
      }
      if (assignment) {
        rd_kafka_topic_partition_list_t* list =
            rd_kafka_topic_partition_list_new(static_cast<int>(assignment->size()));
        owned_.clear();
        for (std::int32_t p : *assignment) {
          // RD_KAFKA_OFFSET_INVALID (the default): the group's committed offset.
          auto* entry = rd_kafka_topic_partition_list_add(list, topic_.c_str(), p);
          if (auto it = start.find(p); it != start.end()) {
            entry->offset = it->second;
            positions_[p] = it->second;
          }
          owned_.insert(p);
        }
        const rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, list);
        rd_kafka_topic_partition_list_destroy(list);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          spdlog::warn("demo consumer {}: assign: {}", rd_kafka_name(consumer_),
                       rd_kafka_err2str(err));
        }
        tokens = 0;
        last_refill = Clock::now();
      }
      if (owned_.empty()) continue;

      const auto now = Clock::now();
      tokens += rate_ * std::chrono::duration<double>(now - last_refill).count();
      tokens = std::min(tokens, 1 + rate_ * 0.05);  // no catching up on idle time
      last_refill = now;
      if (now - last_commit >= kCommitInterval) {
        commit(true);
        last_commit = now;
      }
      if (tokens < 1) {
        const auto wait = std::chrono::duration<double>((1 - tokens) / rate_);
        std::this_thread::sleep_for(
            std::min<std::chrono::duration<double>>(wait, milliseconds(20)));
        continue;
      }
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 20);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && accept(*message)) {
        positions_[message->partition] = message->offset + 1;
        tokens -= 1;
        processed_.fetch_add(1);
        if (paused_since_) {
          on_pause_(std::chrono::duration<double>(Clock::now() - *paused_since_).count());
          paused_since_.reset();
        }
      } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                 message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::debug("demo consumer {}: {}", rd_kafka_name(consumer_),
                      rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    commit(false);
    (void)rd_kafka_assign(consumer_, nullptr);
    {
      std::lock_guard lock(mutex_);
      released_ = positions_;
      revoked_ = true;
    }
    cv_.notify_all();
  }

  // Each record once: only owned partitions, never behind the position already reached.
  bool accept(const rd_kafka_message_t& message) const {
    if (owned_.count(message.partition) == 0) return false;
    auto it = positions_.find(message.partition);
    return it == positions_.end() || message.offset >= it->second;
  }

  // Async: commits the processed positions that moved since the last commit. Sync (before giving
  // partitions up): commits all of them.
  void commit(bool async) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(0);
    for (const auto& [partition, offset] : positions_) {
      auto it = committed_.find(partition);
      if (async && it != committed_.end() && it->second == offset) continue;
      rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition)->offset = offset;
      committed_[partition] = offset;
    }
    if (list->cnt > 0) {
      const rd_kafka_resp_err_t err = rd_kafka_commit(consumer_, list, async ? 1 : 0);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("demo consumer {}: commit: {}", rd_kafka_name(consumer_),
                     rd_kafka_err2str(err));
        committed_.clear();  // try them all again next time
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  rd_kafka_t* consumer_;
  std::string topic_;
  double rate_;
  std::atomic<std::int64_t>& processed_;
  std::function<void(double)> on_pause_;
  // Owned by the worker's thread:
  std::optional<Clock::time_point> paused_since_;  // assigned, no record processed since
  std::set<std::int32_t> owned_;
  Offsets positions_;  // next offset to process, by partition
  Offsets committed_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::optional<std::vector<std::int32_t>> pending_assignment_;
  Offsets pending_start_;
  Clock::time_point pending_since_;
  Offsets released_;
  bool revoke_requested_ = false;
  bool revoked_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

struct ConsumerFleet::Impl {
  std::string bootstrap;
  std::string topic;
  int partitions;
  std::string group;
  double rate;

  std::atomic<std::int64_t> processed{0};
  std::atomic<std::int64_t> reassignments{0};
  std::atomic<int> running{0};

  std::mutex mutex;
  std::condition_variable cv;
  int target = 0;
  bool stop = false;
  std::thread thread;
  // Only the fleet thread touches these.
  std::vector<std::unique_ptr<Worker>> workers;
  Offsets positions;  // where each partition's last owner stopped
  int next_id = 0;

  std::mutex pauses_mutex;
  std::vector<double> pauses;  // per worker and reassignment: to its first record
  std::vector<ConsumerFleet::RunningChange> changes;

  void add_pause(double seconds) {
    std::lock_guard lock(pauses_mutex);
    pauses.push_back(seconds);
  }

  void run() {
    while (true) {
      int wanted = 0;
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [this] { return stop || target != static_cast<int>(workers.size()); });
        if (stop) break;
        wanted = target;
      }
      if (!rebalance(wanted)) {
        // Could not create a consumer: try again in a second rather than spin.
        std::unique_lock lock(mutex);
        cv.wait_for(lock, std::chrono::seconds(1), [this] { return stop; });
      }
    }
    for (auto& worker : workers) worker->request_revoke();
    workers.clear();  // each commits and closes
    running.store(0);
  }

  // What an eager rebalance does: everyone commits and lets go, then the new set takes over where
  // the old one stopped. False when fewer consumers than wanted could be created.
  bool rebalance(int wanted) {
    const auto started = Clock::now();
    const int before = static_cast<int>(workers.size());
    for (auto& worker : workers) worker->request_revoke();
    for (auto& worker : workers) {
      for (const auto& [partition, offset] : worker->wait_revoked()) positions[partition] = offset;
    }
    running.store(0);
    std::vector<std::unique_ptr<Worker>> retired;
    while (static_cast<int>(workers.size()) > wanted) {
      retired.push_back(std::move(workers.back()));
      workers.pop_back();
    }
    while (static_cast<int>(workers.size()) < wanted) {
      auto consumer = new_client(RD_KAFKA_CONSUMER, bootstrap,
                                 {{"client.id", "order-consumer-" + std::to_string(next_id++)},
                                  {"group.id", group},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"auto.offset.reset", "earliest"},
                                  {"fetch.wait.max.ms", "50"},
                                  {"queued.max.messages.kbytes", "1024"}});
      if (!consumer) {
        spdlog::error("demo consumer: {}", consumer.error().message);
        break;
      }
      workers.push_back(std::make_unique<Worker>(*consumer, topic, rate, processed,
                                                 [this](double seconds) { add_pause(seconds); }));
    }
    const auto n = workers.size();
    std::vector<std::vector<std::int32_t>> shares(n);
    for (int p = 0; p < partitions && n > 0; ++p) {
      shares[static_cast<std::size_t>(p) % n].push_back(p);
    }
    for (std::size_t i = 0; i < n; ++i) {
      Offsets start;
      for (std::int32_t p : shares[i]) {
        if (auto it = positions.find(p); it != positions.end()) start[p] = it->second;
      }
      workers[i]->assign(shares[i], std::move(start), started);
    }
    running.store(std::min(static_cast<int>(n), partitions));
    {
      std::lock_guard lock(pauses_mutex);
      if (changes.empty() || changes.back().running != running.load()) {
        changes.push_back({Clock::now(), running.load()});
      }
    }
    ++reassignments;
    spdlog::info("demo consumers: {} -> {} consumers (partitions reassigned in {} ms)", before, n,
                 std::chrono::duration_cast<milliseconds>(Clock::now() - started).count());
    retired.clear();  // close the surplus consumers after the others took over
    return static_cast<int>(n) == wanted;
  }
};

ConsumerFleet::ConsumerFleet(const MockKafkaCluster& cluster, std::string group,
                             double per_replica_rate)
    : ConsumerFleet(cluster.bootstrap_servers(), cluster.topic(), cluster.partitions(),
                    std::move(group), per_replica_rate) {}

ConsumerFleet::ConsumerFleet(std::string bootstrap_servers, std::string topic, int partitions,
                             std::string group, double per_replica_rate)
    : impl_(std::make_unique<Impl>()) {
  impl_->bootstrap = std::move(bootstrap_servers);
  impl_->topic = std::move(topic);
  impl_->partitions = partitions;
  impl_->group = std::move(group);
  impl_->rate = per_replica_rate;
  impl_->thread = std::thread([this] { impl_->run(); });
}

ConsumerFleet::~ConsumerFleet() { stop(); }

void ConsumerFleet::set_replicas(int replicas) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->target = std::max(0, replicas);
  }
  impl_->cv.notify_all();
}

int ConsumerFleet::running() const { return impl_->running.load(); }
std::int64_t ConsumerFleet::processed() const { return impl_->processed.load(); }
std::int64_t ConsumerFleet::reassignments() const { return impl_->reassignments.load(); }
std::vector<ConsumerFleet::RunningChange> ConsumerFleet::running_changes() const {
  std::lock_guard lock(impl_->pauses_mutex);
  return impl_->changes;
}

std::vector<double> ConsumerFleet::reassignment_pauses() const {
  std::lock_guard lock(impl_->pauses_mutex);
  return impl_->pauses;
}

void ConsumerFleet::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace lagpilot::demo
