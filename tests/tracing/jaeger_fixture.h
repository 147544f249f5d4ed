#pragma once
// Jaeger's all-in-one (v1, built from its Go module by controlplane/jaeger/fetch and cached) on
// loopback for tests: OTLP/HTTP in, in-memory storage, the JSON query API out. Every port it
// opens is a free 127.0.0.1 one. Failures throw std::runtime_error with the server's log.
//
//   lagpilot::testkit::JaegerServer jaeger(LAGPILOT_SOURCE_DIR);
//   ... exporter endpoint jaeger.otlp_endpoint() ...
//   auto trace = jaeger.trace(trace_id);   // GET /api/traces/<id>, nullopt until stored
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

class JaegerServer {
 public:
  explicit JaegerServer(const std::string& source_dir) : dir_("/tmp/lagpilot-jaeger-") {
    binary_ = fetch(source_dir);
    for (int attempt = 0; attempt < 3; ++attempt) {
      for (int& port : ports_) port = free_loopback_port();
      start();
      if (wait_until_ready(pid_, std::chrono::seconds(60), std::chrono::milliseconds(50), [&] {
            return loopback_http_answers_200(admin_port(),
                                             "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
          })) {
        return;
      }
      kill_and_reap(pid_);
    }
    throw std::runtime_error("jaeger all-in-one did not become ready; log:\n" + log());
  }
  ~JaegerServer() { kill_and_reap(pid_); }
  JaegerServer(const JaegerServer&) = delete;
  JaegerServer& operator=(const JaegerServer&) = delete;

  std::string otlp_endpoint() const { return "http://127.0.0.1:" + std::to_string(ports_[0]); }
  std::string log() const { return read_text_file(dir_ / "jaeger.log"); }

  // The trace as the query API returns it (data[0]: traceID, spans, processes); nullopt while
  // it is not stored yet.
  std::optional<nlohmann::json> trace(const std::string& trace_id) const {
    auto body = http_get(ports_[2], "/api/traces/" + trace_id);
    if (!body) return std::nullopt;
    auto parsed = nlohmann::json::parse(*body, nullptr, false);
    if (parsed.is_discarded() || !parsed.contains("data") || parsed["data"].empty()) {
      return std::nullopt;
    }
    return parsed["data"][0];
  }

 private:
  int admin_port() const { return ports_[6]; }

  static std::string fetch(const std::string& source_dir) {
    std::string command = source_dir + "/controlplane/jaeger/fetch";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run " + command);
    std::string out;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
    int status = ::pclose(pipe);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (status != 0 || out.empty()) throw std::runtime_error(command + " failed");
    return out;
  }

  void start() {
    auto at = [&](int i) { return "127.0.0.1:" + std::to_string(ports_[i]); };
    pid_ = spawn_server_process(
        {binary_, "--collector.otlp.enabled=true", "--collector.otlp.http.host-port=" + at(0),
         "--collector.otlp.grpc.host-port=" + at(1), "--query.http-server.host-port=" + at(2),
         "--query.grpc-server.host-port=" + at(3), "--collector.http-server.host-port=" + at(4),
         "--collector.grpc-server.host-port=" + at(5), "--admin.http.host-port=" + at(6)},
        (dir_ / "jaeger.log").string(), {"SPAN_STORAGE_TYPE=memory"});
  }

  // The body of a 200 answer to GET `path` (HTTP/1.0: the server closes when done).
  static std::optional<std::string> http_get(int port, const std::string& path) {
    int fd = connect_loopback(port);
    if (fd < 0) return std::nullopt;
    std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
      ::close(fd);
      return std::nullopt;
    }
    std::string response;
    std::array<char, 8192> buffer{};
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer.data(), buffer.size(), 0)) > 0) response.append(buffer.data(), n);
    ::close(fd);
    auto header_end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) != 0 || response.compare(9, 3, "200") != 0 ||
        header_end == std::string::npos) {
      return std::nullopt;
    }
    return response.substr(header_end + 4);
  }

  TemporaryDirectory dir_;
  std::string binary_;
  std::array<int, 7> ports_{};
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
