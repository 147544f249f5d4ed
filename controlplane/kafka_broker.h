#pragma once
// Drives controlplane/kafka/ (start, stop, restart) from C++: a real single-node Apache Kafka 4
// broker (KRaft) on loopback for the Kafka source's integration tests. The JVM takes seconds to
// start: share one broker per test binary (a ::testing::Environment).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "util/result.h"

namespace lagpilot::controlplane {

class KafkaBroker {
 public:
  // Starts a broker in `run_dir` (created if missing; an earlier broker's files there are
  // wiped). `scripts_dir` holds start, stop and restart (the source tree's controlplane/kafka).
  // The broker is killed when this process exits, even by a crash (controlplane/kafka/watchdog).
  static Result<std::unique_ptr<KafkaBroker>> start(const std::string& scripts_dir,
                                                    const std::string& run_dir);
  // Stops the broker if it still runs (its run dir stays, with the logs).
  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  // Stops the JVM; `kill` sends KILL at once (a crash) instead of an orderly shutdown. The data
  // dir and ports are kept for resume().
  Status halt(bool kill = false);
  // Starts the halted broker again: same ports, same data, same credentials.
  Status resume();
  // halt() then resume().
  Status restart(bool kill = false);
  // Stops it for good.
  Status stop();
  bool running() const { return running_; }

  const std::string& run_dir() const { return run_dir_; }
  std::string bootstrap_plaintext() const { return value("KAFKA_BOOTSTRAP_PLAINTEXT"); }
  std::string bootstrap_sasl_ssl() const { return value("KAFKA_BOOTSTRAP_SASL_SSL"); }
  // "SCRAM-SHA-512,PLAIN": the SASL_SSL listener takes either, for the same user.
  std::string sasl_mechanisms() const { return value("KAFKA_SASL_MECHANISMS"); }
  std::string sasl_username() const { return value("KAFKA_SASL_USERNAME"); }
  std::string sasl_password() const { return value("KAFKA_SASL_PASSWORD"); }
  std::string ca_file() const { return value("KAFKA_CA_FILE"); }
  std::string ca_pem() const;
  std::string version() const { return value("KAFKA_VERSION"); }
  std::string log_file() const { return value("KAFKA_LOG"); }
  // A key of the run dir's env file ("" when absent).
  std::string value(const std::string& key) const;

  // The JVM's resident memory now (VmRSS) and at its peak (VmHWM), in KiB; nullopt when halted.
  std::optional<long> rss_kib() const;
  std::optional<long> peak_rss_kib() const;
  // How long start() took (fetch check, certificates, format, JVM until ready).
  std::chrono::duration<double> start_duration() const { return start_duration_; }

 private:
  KafkaBroker(std::string scripts_dir, std::string run_dir);
  Status load_env();
  std::optional<long> status_kib(const std::string& field) const;

  std::string scripts_dir_;
  std::string run_dir_;
  std::map<std::string, std::string> env_;
  bool running_ = false;
  std::chrono::duration<double> start_duration_{0};
};

}  // namespace lagpilot::controlplane
