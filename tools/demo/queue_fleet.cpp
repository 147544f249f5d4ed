#include "tools/demo/queue_fleet.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

namespace lagpilot::demo {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long one consume() waits for a first message: also how long a stopping consumer may take.
constexpr milliseconds kConsumeWait{20};
// A consumer that lost its connection tries again after this.
constexpr auto kReconnectDelay = std::chrono::seconds(1);

}  // namespace

struct QueueConsumerFleet::Impl {
  QueueConsumerFactory factory;
  double rate = 0;

  std::atomic<std::int64_t> processed{0};
  std::atomic<int> running{0};

  mutable std::mutex changes_mutex;
  std::vector<double> pauses;
  std::vector<ConsumerChange> changes;

  std::mutex mutex;
  std::condition_variable cv;
  int target = 0;
  bool stop = false;
  Clock::time_point target_changed = Clock::now();
  std::thread thread;

  // One consumer: its thread connects, then takes messages at `rate` until told to stop.
  struct Worker {
    std::atomic<bool> stop{false};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> workers;  // the fleet thread's only
  int next_id = 0;

  void note_running(int delta) {
    std::lock_guard lock(changes_mutex);
    const int now = running.fetch_add(delta) + delta;
    changes.push_back({Clock::now(), now});
  }

  void run_worker(Worker& worker, int id, Clock::time_point asked) {
    std::unique_ptr<QueueConsumer> consumer;
    bool counted = false;
    bool first_message = true;  // the pause is measured from `asked` to it
    double tokens = 0;
    auto last_refill = Clock::now();
    while (!worker.stop.load()) {
      if (!consumer) {
        auto made = factory(id);
        if (!made) {
          spdlog::warn("demo consumer {}: {}", id, made.error().message);
          std::this_thread::sleep_for(kReconnectDelay);  // a retry pace, not timing logic
          continue;
        }
        consumer = std::move(*made);
        if (!counted) note_running(+1);
        counted = true;
        tokens = 0;
        last_refill = Clock::now();
      }
      const auto now = Clock::now();
      tokens += rate * std::chrono::duration<double>(now - last_refill).count();
      tokens = std::min(tokens, 1 + rate * 0.05);  // no catching up on idle time
      last_refill = now;
      if (tokens < 1) {
        const auto wait = std::chrono::duration<double>((1 - tokens) / rate);
        std::this_thread::sleep_for(std::min<std::chrono::duration<double>>(wait, kConsumeWait));
        continue;
      }
      auto got = consumer->consume(static_cast<int>(tokens), kConsumeWait);
      if (!got) {
        spdlog::warn("demo consumer {}: {}", id, got.error().message);
        consumer.reset();
        continue;
      }
      if (*got == 0) continue;
      tokens -= *got;
      processed.fetch_add(*got);
      if (first_message) {
        std::lock_guard lock(changes_mutex);
        pauses.push_back(std::chrono::duration<double>(Clock::now() - asked).count());
        first_message = false;
      }
    }
    consumer.reset();  // leaves: everything it took is acknowledged
    if (counted) note_running(-1);
  }

  void run() {
    while (true) {
      int wanted = 0;
      Clock::time_point asked;
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [this] { return stop || target != static_cast<int>(workers.size()); });
        if (stop) break;
        wanted = target;
        asked = target_changed;
      }
      while (static_cast<int>(workers.size()) < wanted) {
        auto worker = std::make_unique<Worker>();
        Worker* w = worker.get();
        const int id = next_id++;
        w->thread = std::thread([this, w, id, asked] { run_worker(*w, id, asked); });
        workers.push_back(std::move(worker));
      }
      if (static_cast<int>(workers.size()) > wanted) {
        for (auto i = static_cast<std::size_t>(wanted); i < workers.size(); ++i) {
          workers[i]->stop.store(true);
        }
        for (auto i = static_cast<std::size_t>(wanted); i < workers.size(); ++i) {
          workers[i]->thread.join();
        }
        workers.resize(static_cast<std::size_t>(wanted));
      }
      spdlog::info("demo consumers: {} wanted, {} running", wanted, running.load());
    }
    for (auto& worker : workers) worker->stop.store(true);
    for (auto& worker : workers) worker->thread.join();
    workers.clear();
  }
};

QueueConsumerFleet::QueueConsumerFleet(QueueConsumerFactory factory, double per_replica_rate)
    : impl_(std::make_unique<Impl>()) {
  impl_->factory = std::move(factory);
  impl_->rate = per_replica_rate;
  impl_->thread = std::thread([this] { impl_->run(); });
}

QueueConsumerFleet::~QueueConsumerFleet() { stop(); }

void QueueConsumerFleet::set_replicas(int replicas) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->target == std::max(0, replicas)) return;
    impl_->target = std::max(0, replicas);
    impl_->target_changed = Clock::now();
  }
  impl_->cv.notify_all();
}

int QueueConsumerFleet::running() const { return impl_->running.load(); }
std::int64_t QueueConsumerFleet::processed() const { return impl_->processed.load(); }

std::vector<double> QueueConsumerFleet::start_pauses() const {
  std::lock_guard lock(impl_->changes_mutex);
  return impl_->pauses;
}

std::vector<ConsumerChange> QueueConsumerFleet::running_changes() const {
  std::lock_guard lock(impl_->changes_mutex);
  return impl_->changes;
}

void QueueConsumerFleet::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

// ---------------------------------------------------------------------------------------------

struct PacedProducer::Impl {
  explicit Impl(LoadPattern load) : pattern(std::move(load)) {}

  LoadPattern pattern;
  std::function<Status(std::int64_t)> send;
  std::function<Status()> flush;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> produced{0};

  void run() {
    const auto start = Clock::now();
    auto previous = start;
    double due = 0;  // messages the pattern asked for so far
    std::int64_t sent = 0;
    std::string last_error;
    while (!stop.load()) {
      const auto now = Clock::now();
      const double t = std::chrono::duration<double>(now - start).count();
      due += pattern.rate(t) * std::chrono::duration<double>(now - previous).count();
      previous = now;
      while (sent < static_cast<std::int64_t>(due) && !stop.load()) {
        if (auto sent_one = send(sent); !sent_one) {
          if (sent_one.error().message != last_error) {
            spdlog::warn("demo producer: {}", sent_one.error().message);
            last_error = sent_one.error().message;
          }
          break;
        }
        ++sent;
      }
      if (auto flushed = flush(); !flushed) {
        spdlog::warn("demo producer: {}", flushed.error().message);
      }
      produced.store(sent);
      std::this_thread::sleep_until(now + milliseconds(10));  // the producer's pace
    }
  }
};

PacedProducer::PacedProducer(LoadPattern pattern, std::function<Status(std::int64_t)> send,
                             std::function<Status()> flush)
    : impl_(std::make_unique<Impl>(std::move(pattern))) {
  impl_->send = std::move(send);
  impl_->flush = std::move(flush);
}

PacedProducer::~PacedProducer() { stop(); }

void PacedProducer::start() {
  if (!impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->run(); });
}

void PacedProducer::stop() {
  impl_->stop.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::int64_t PacedProducer::produced() const { return impl_->produced.load(); }

FleetBackend::~FleetBackend() { stop_producer_and_fleet(); }

std::int64_t FleetBackend::produced() const { return producer_ ? producer_->produced() : 0; }

void FleetBackend::stop_producer() {
  if (producer_) producer_->stop();
}

void FleetBackend::set_replicas(int replicas) {
  if (fleet_) fleet_->set_replicas(replicas);
}

int FleetBackend::running() const { return fleet_ ? fleet_->running() : 0; }

std::int64_t FleetBackend::processed() const { return fleet_ ? fleet_->processed() : 0; }

std::vector<double> FleetBackend::consumer_start_pauses() const {
  return fleet_ ? fleet_->start_pauses() : std::vector<double>{};
}

std::vector<ConsumerChange> FleetBackend::running_changes() const {
  return fleet_ ? fleet_->running_changes() : std::vector<ConsumerChange>{};
}

void FleetBackend::make_fleet(QueueConsumerFactory factory, double per_replica_rate) {
  fleet_ = std::make_unique<QueueConsumerFleet>(std::move(factory), per_replica_rate);
}

void FleetBackend::start_paced_producer(const LoadPattern& pattern,
                                        std::function<Status(std::int64_t index)> send,
                                        std::function<Status()> flush) {
  producer_ = std::make_unique<PacedProducer>(pattern, std::move(send), std::move(flush));
  producer_->start();
}

void FleetBackend::stop_producer_and_fleet() {
  stop_producer();
  if (fleet_) fleet_->stop();
}

}  // namespace lagpilot::demo
