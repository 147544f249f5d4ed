#pragma once
// One HTTP/1.0 GET to 127.0.0.1 with a raw socket (no keep-alive, no chunking), 5 s timeout:
// what a scraper sends, with the headers a test chooses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <string>

namespace lagpilot::testkit {

struct HttpAnswer {
  int status = 0;                              // 0: no answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

inline HttpAnswer loopback_get(int port, const std::string& target,
                               const std::string& extra_headers = "") {
  HttpAnswer answer;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return answer;
  }
  const std::string request =
      "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw;
  char buffer[8192];
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) raw.append(buffer, std::size_t(n));
  ::close(fd);
  const auto end_of_headers = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || end_of_headers == std::string::npos) return answer;
  answer.status = std::stoi(raw.substr(raw.find(' ') + 1, 3));
  std::size_t line = raw.find("\r\n") + 2;
  while (line < end_of_headers) {
    const std::size_t next = raw.find("\r\n", line);
    const std::string header = raw.substr(line, next - line);
    const std::size_t colon = header.find(':');
    if (colon != std::string::npos) {
      std::string name = header.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t value = header.find_first_not_of(' ', colon + 1);
      answer.headers[name] = value == std::string::npos ? "" : header.substr(value);
    }
    line = next + 2;
  }
  answer.body = raw.substr(end_of_headers + 4);
  return answer;
}

}  // namespace lagpilot::testkit
