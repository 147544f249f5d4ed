#include "controllers/status_writer.h"

#include <spdlog/spdlog.h>

namespace lagpilot::controllers {

StatusWriter::StatusWriter(kube::KubeClient& client, StatusWriterOptions options)
    : client_(client), options_(std::move(options)) {}

StatusWriter::~StatusWriter() { stop(); }

void StatusWriter::start() {
  std::lock_guard lock(mutex_);
  if (!threads_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

void StatusWriter::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    waiting_.clear();
    order_.clear();
    threads.swap(threads_);
    report_pending_locked();
  }
  ready_cv_.notify_all();
  for (auto& thread : threads) thread.join();
}

bool StatusWriter::submit(const std::string& key, const std::string& ns, const std::string& name,
                          const kube::Json& patch, OnWritten on_written) {
  Pending pending{ns, name, patch.dump(), std::move(on_written), {}};
  if (options_.threads <= 0) {
    if (!write(key, pending)) return false;
    std::lock_guard lock(mutex_);
    ++written_;
    return true;
  }
  if (options_.tracer) pending.trace_parent = options_.tracer->active_context();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    auto [it, inserted] = waiting_.insert_or_assign(key, std::move(pending));
    if (inserted && !in_flight_.count(key)) order_.push_back(key);
    report_pending_locked();
  }
  ready_cv_.notify_one();
  return true;
}

void StatusWriter::cancel(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (waiting_.erase(key)) report_pending_locked();  // its entry in order_ is skipped
}

bool StatusWriter::pending_for(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return waiting_.count(key) > 0 || in_flight_.count(key) > 0;
}

std::size_t StatusWriter::pending() const {
  std::lock_guard lock(mutex_);
  return waiting_.size() + in_flight_.size();
}

std::uint64_t StatusWriter::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

void StatusWriter::report_pending_locked() {
  if (options_.on_pending) options_.on_pending(waiting_.size() + in_flight_.size());
}

bool StatusWriter::write(const std::string& key, const Pending& patch) {
  if (options_.may_write && !options_.may_write()) return false;
  if (options_.owns && !options_.owns(key)) {
    spdlog::debug("monitor={} status write dropped: owned by another replica now", key);
    return false;
  }
  auto body = kube::Json::parse(patch.body, nullptr, false);
  auto written = client_.patch(kube::resources::kQueueMonitors, patch.ns, patch.name,
                               kube::PatchType::kMerge, body, "status");
  if (!written) {
    // The next poll finds the status still different and submits it again.
    spdlog::warn("monitor={} status write failed: {}", key, written.error().message);
    return false;
  }
  if (patch.on_written) patch.on_written(*written);
  return true;
}

void StatusWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    ready_cv_.wait(lock, [this] { return stopping_ || !order_.empty(); });
    if (stopping_) return;
    std::string key = std::move(order_.front());
    order_.pop_front();
    auto it = waiting_.find(key);
    // Cancelled, or queued twice (cancelled and submitted again) and already being written.
    if (it == waiting_.end() || in_flight_.count(key)) continue;
    Pending patch = std::move(it->second);
    waiting_.erase(it);
    in_flight_.insert(key);
    lock.unlock();
    bool ok = false;
    {
      auto traced = options_.tracer ? options_.tracer->activate(patch.trace_parent) : nullptr;
      ok = write(key, patch);
    }
    lock.lock();
    in_flight_.erase(key);
    if (ok) ++written_;
    if (waiting_.count(key)) {
      order_.push_back(key);
      ready_cv_.notify_one();
    }
    report_pending_locked();
  }
}

}  // namespace lagpilot::controllers
