#pragma once
// A real HTTP/1.1 server on 127.0.0.1 for tests (plain sockets, a thread per connection,
// keep-alive, Content-Length and chunked request bodies). It records every request and answers
// through a handler, which can also make a request hang until the server stops.
//
//   lagpilot::testkit::TestHttpServer server([](const auto& request) {
//     return lagpilot::testkit::HttpReply{500, "{}"};
//   });
//   ... POST to server.url("/hook") ...
//   ASSERT_TRUE(server.wait_for_requests(1, 5s));
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lagpilot::testkit {

struct HttpRequestRecord {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::chrono::steady_clock::time_point received;
};

struct HttpReply {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json";
  bool hang = false;  // never answer (the connection stays open until the server stops)
};

class TestHttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpRequestRecord&)>;

  explicit TestHttpServer(Handler handler = {});  // default handler: 200 {}
  ~TestHttpServer();                              // releases hung requests, joins threads
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;

  void set_handler(Handler handler);
  std::vector<HttpRequestRecord> requests() const;
  std::size_t request_count() const;
  // Real-time wait until at least `count` requests arrived (hung ones included).
  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  Handler handler_;
  std::vector<HttpRequestRecord> requests_;
  std::vector<int> connections_;
  std::vector<std::thread> connection_threads_;
  std::thread accept_thread_;
};

}  // namespace lagpilot::testkit
