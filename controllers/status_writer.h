#pragma once
// Status writes off the poll path. A reconcile hands its status patch to the StatusWriter and goes
// on; writer threads send the patches. Per monitor at most one patch waits and at most one is in
// flight: a newer patch for a monitor whose patch still waits replaces it (each patch is the
// difference between the cached status and the newest one, so the newest says everything), and a
// monitor's patches reach the server in order. Polls are never held up behind a busy API server,
// and a burst (the first status of 10,000 new monitors at start-up) costs one write a monitor, at
// the pace the server takes them.
//
// With 0 threads, submit() writes at once on the caller's thread (what a test's reconcile()
// expects).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "tracing/tracer.h"

namespace lagpilot::controllers {

struct StatusWriterOptions {
  int threads = 0;  // 0: write on the caller's thread
  // The leader fence, checked right before each write.
  std::function<bool()> may_write;
  // Called with the number of monitors whose patch waits or is in flight, when it changes.
  std::function<void(std::size_t)> on_pending;
  // With threads: the PATCH's span is a child of the span active when the patch was submitted
  // (the reconcile's write_status), its context carried with the patch. nullptr: not traced.
  tracing::Tracer* tracer = nullptr;
  // With shards: whether this replica still owns monitor `key` ("namespace/name"), checked right
  // before each write, after the fence (a patch that waited while its monitor moved to another
  // replica is dropped: the new owner writes its own). nullptr: every monitor is ours.
  std::function<bool(const std::string& key)> owns;
};

class StatusWriter {
 public:
  StatusWriter(kube::KubeClient& client, StatusWriterOptions options);
  ~StatusWriter();
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  void start();
  // Waits for the patches in flight; drops those that wait (the next poll computes them again).
  void stop();

  // A merge patch of the QueueMonitor's status subresource. `key` is "namespace/name". False when
  // it was not taken (written at once and failed, fenced, or stopping).
  // `on_written` gets the object the server answered, after a successful write (on a writer
  // thread; with 0 threads on the caller's).
  using OnWritten = std::function<void(const kube::Json& answered)>;
  bool submit(const std::string& key, const std::string& ns, const std::string& name,
              const kube::Json& patch, OnWritten on_written = {});
  // True while the monitor has a patch waiting or in flight.
  bool pending_for(const std::string& key) const;
  // Drops the monitor's waiting patch (it was deleted).
  void cancel(const std::string& key);

  std::size_t pending() const;
  std::uint64_t written() const;

 private:
  struct Pending {
    std::string ns, name;
    std::string body;  // the patch as JSON text: a waiting patch costs its bytes
    OnWritten on_written;
    tracing::SpanContext trace_parent;  // the submitter's active span, for a writer thread
  };
  bool write(const std::string& key, const Pending& patch);
  void run();
  void report_pending_locked();

  kube::KubeClient& client_;
  StatusWriterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  std::map<std::string, Pending> waiting_;
  std::deque<std::string> order_;    // keys of waiting_ whose turn comes, oldest first
  std::set<std::string> in_flight_;  // keys being written (their next patch waits in waiting_)
  bool stopping_ = false;
  std::uint64_t written_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace lagpilot::controllers
