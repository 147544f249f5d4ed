#pragma once
// Holds back requests to a server (or part of one) that stopped answering, so that the callers
// of a down server do not each wait for the whole request timeout. A key (a Kafka topic, a
// Prometheus server) is down from a request about it that got no answer until one is answered.
// While any key is down, one caller at a time per gate waits for the server (the probe) and the
// other callers about down keys fail at once. Keys that answer are never held back. An answered
// probe ends every outage of the gate (the server is back: everything may try again).
//
// Failures during an outage all carry the message of the one that found the key down: which
// request failed and which address was tried last change from call to call, and a status message
// that changed with them would be written at every poll of the outage.
#include <map>
#include <mutex>
#include <string>

#include "util/result.h"

namespace lagpilot {

class OutageGate {
 public:
  struct Pass {
    bool probe = false;
  };

  // A pass to send a request about `key`, or (during an outage, while another caller probes) the
  // failure to return at once, with `code`.
  Result<Pass> enter(const std::string& key, const std::string& code);

  // After the request: `answered` when the server answered (an error answer such as "unknown
  // topic" counts). Returns the message to report for a failure, `failure` or the outage's first.
  std::string leave(Pass pass, const std::string& key, bool answered, const std::string& failure);

  bool down(const std::string& key) const;

  // enter(), `request()` (a Result), leave(): the usual way through the gate. `answered(result)`
  // tells whether the server answered; a failure without an answer carries the outage's first
  // message (with the failure's own code).
  template <typename Request, typename Answered>
  auto call(const std::string& key, const std::string& code, Request&& request, Answered&& answered)
      -> decltype(request()) {
    auto pass = enter(key, code);
    if (!pass) return pass.error();
    auto result = request();
    const bool got_answer = answered(result);
    std::string message = leave(*pass, key, got_answer, got_answer ? "" : result.error().message);
    if (!got_answer) result = Error{result.error().code, std::move(message)};
    return result;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> first_failure_;  // keys that are down
  bool probing_ = false;
};

}  // namespace lagpilot
