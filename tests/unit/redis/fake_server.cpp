// SPDX-License-Identifier: Apache-2.0
#include "redis/fake_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <stdexcept>

namespace agent::testing {

bool FakePeer::fill() {
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  return false;
}

std::optional<std::string> FakePeer::readLine() {
  size_t pos;
  while ((pos = buf_.find("\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  std::string line = buf_.substr(0, pos);
  buf_.erase(0, pos + 2);
  return line;
}

std::optional<std::vector<std::string>> FakePeer::readCommand() {
  auto header = readLine();
  if (!header || header->empty() || (*header)[0] != '*') return std::nullopt;
  int count = std::stoi(header->substr(1));
  std::vector<std::string> args;
  for (int i = 0; i < count; ++i) {
    auto len_line = readLine();
    if (!len_line || len_line->empty() || (*len_line)[0] != '$') return std::nullopt;
    size_t len = std::stoul(len_line->substr(1));
    while (buf_.size() < len + 2) {
      if (!fill()) return std::nullopt;
    }
    args.push_back(buf_.substr(0, len));
    buf_.erase(0, len + 2);
  }
  return args;
}

bool FakePeer::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

UniqueFd listenLoopback(int backlog, int& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd.get(), backlog) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
  listener_ = listenLoopback(16, port_);
  thread_ = std::thread([this] { serve(); });
}

FakeServer::~FakeServer() {
  stop_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);
  thread_.join();
}

void FakeServer::serve() {
  while (!stop_.load()) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.isValid()) continue;
    ++accepted_;
    FakePeer peer(client.get(), stop_);
    handler_(peer);
  }
}

FakeServer::Handler answering(std::vector<std::pair<std::string, std::string>> table,
                              std::atomic<int>* commands) {
  return [table = std::move(table), commands](FakePeer& peer) {
    while (auto cmd = peer.readCommand()) {
      if (commands != nullptr) ++*commands;
      std::string name;
      for (const auto& a : *cmd) name += (name.empty() ? "" : " ") + a;
      std::string reply = "-ERR unknown command\r\n";
      for (const auto& [prefix, bytes] : table) {
        if (name.rfind(prefix, 0) == 0) {
          reply = bytes;
          break;
        }
      }
      if (!peer.send(reply)) return;
    }
  };
}

size_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace agent::testing
