#pragma once
// Queue sources: what the controller polls to learn a queue's backlog.
//
// Each kind of queue is one folder under sources/ with a SourceKind: it checks its member of
// spec.source (spec.source.<kind>), names the Secret its credentials come from (the controller
// reads it, never the source: KEDA's resolver model), owns what its sources share (connection
// pools, outage gates) and creates one QueueSource per QueueMonitor. The kinds lagpilot ships are
// registered in sources/builtin_sources.cpp. Nothing outside a kind's folder knows its words: the
// controller learns what it needs from CheckedSourceSpec (labels) and QueueSnapshot (the most
// consumers that can do useful work, a progress position for stall/rewind detection).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

// Per-partition detail, for sources whose queue is partitioned.
struct PartitionLag {
  int32_t partition = 0;
  int64_t high_watermark = 0;     // offset the next record will get
  int64_t committed_offset = -1;  // -1: the group never committed on this partition
  int64_t lag = 0;                // records not yet consumed, >= 0
};

// One reading of a queue. Rates are records per second since the previous successful poll of the
// same source, so the first poll has none. What a source cannot tell stays unknown, never 0.
struct QueueSnapshot {
  WallTime time;
  int64_t consumer_lag = 0;           // records the consumers have not processed yet
  int64_t queue_depth = 0;            // records waiting in the queue
  std::optional<double> lag_seconds;  // age of the oldest unconsumed record; 0 when no lag
  std::string lag_seconds_method;     // how lag_seconds was estimated, e.g. "fetch", "interpolate"
  int partitions = 0;                 // status.metrics.partitions; 0: not partitioned / unknown
  // The most consumers that can do useful work at once (a partitioned queue: its partition count);
  // nullopt: no limit. Scaling stops there and "replicas at maximum" counts from there.
  std::optional<int> max_useful_consumers;
  // A position that grows by one for every record the consumers finish (e.g. the sum of committed
  // offsets), for stall and rewind detection; nullopt when it cannot be read whole this poll (a
  // partial sum would look like a rewind).
  std::optional<double> progress_position;
  std::optional<int> consumers;  // consumers attached; unknown when the server can't tell
  // Partitions with records waiting at this poll or the previous one: the most consumers that had
  // work since the previous poll (a partition is consumed by one member at a time). nullopt for
  // queues without partitions.
  std::optional<int> partitions_with_backlog;
  std::optional<double> ingress_rate;        // records/s appended
  std::optional<double> egress_rate;         // records/s consumed
  std::vector<PartitionLag> partition_lags;  // by partition id, partitioned queues only
};

class QueueSource {
 public:
  // Releases the source's share of its connections.
  virtual ~QueueSource() = default;
  // Reads the queue now. `now` stamps the snapshot and is the reference for rates and
  // lag_seconds. Never blocks longer than the kind's poll timeout. Thread-safe, but one source is
  // meant to be polled by one worker at a time.
  virtual Result<QueueSnapshot> poll(WallTime now) = 0;
  // For logs and status messages: the kind and what it reads, e.g. "<kind> queue=orders"; no
  // secrets.
  virtual std::string describe() const = 0;
};

// Values of a Secret, by key, as the controller read them for a source; never logged.
using SourceCredentials = std::map<std::string, std::string>;

// A server a source sends its Secret's values to (or presents them to), as the spec names it.
struct CredentialDestination {
  std::string field;    // the spec field, e.g. "spec.source.kafka.bootstrapServers"
  std::string address;  // "host", "host:port", "[v6]:port" or a URL ("https://host:port/path")
};

// "host:port", with an IPv6 host in brackets.
inline std::string host_port(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// A Secret in the monitor's namespace that a source's credentials come from.
struct SecretReference {
  std::string name;
  std::string
      field;  // the spec field that names it, for errors: "spec.source.<kind>.authSecretRef"
  // Every server the Secret's values go to; the controller checks them against the operator's
  // --allowed-credential-destinations before it reads the Secret (docs/security.md).
  std::vector<CredentialDestination> destinations;
};

// What the controller needs from a source's spec before (and whether or not) the source exists.
struct CheckedSourceSpec {
  // For alert summaries and notifications, e.g. {"topic": "orders"}; stable for a given spec.
  std::map<std::string, std::string> labels;
  std::optional<SecretReference> credentials;
};

// How many sources of one kind exist (SourceKind::live_sources()): each source holds a
// Registration for its lifetime, so deleting monitors brings the count back down. Thread-safe.
class LiveSourceCount {
 public:
  class Registration {
   public:
    explicit Registration(LiveSourceCount& count) : count_(count.count_) { count_.fetch_add(1); }
    ~Registration() { count_.fetch_sub(1); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    std::atomic<int>& count_;
  };

  int value() const { return count_.load(); }

 private:
  std::atomic<int> count_{0};
};

// One kind of queue, named by the member of spec.source it reads. Owns what its sources share; must
// outlive every source it created. Thread-safe.
class SourceKind {
 public:
  virtual ~SourceKind() = default;
  virtual std::string name() const = 0;
  // Checks spec.source.<name()>. Errors: Error{"InvalidSpec", "spec.source.<kind>.<field>: ..."}.
  virtual Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const = 0;
  // A source for a spec that check() accepted, with the values of its credentials Secret (empty
  // without one).
  virtual Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                                      const SourceCredentials& credentials) = 0;
  // Sources created and not destroyed yet (deleting monitors must bring it back down).
  virtual int live_sources() const = 0;
};

}  // namespace lagpilot
