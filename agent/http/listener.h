// SPDX-License-Identifier: Apache-2.0
// The TCP side of the HTTP server: one I/O thread that accepts, reads each request head within
// its budget (http/head.h), and writes each answer within its budget, plus a few workers that
// only turn a complete head into answer bytes. No worker ever waits on a socket, so slow,
// silent or oversized clients cost a table slot and a few KB each, never a worker; the
// connection table (http/admission.h) bounds how many there are. Knows nothing of HTTP beyond
// where a head ends: the answer function (cpp-httplib, in server.cpp) does the rest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "http/admission.h"
#include "http/head.h"

namespace agent::http {

struct Limits {
  HeadLimits head;
  ConnectionLimits connections;
  int64_t head_timeout_ms = 3000;   // accept -> the head's blank line, whatever the pace
  int64_t write_timeout_ms = 5000;  // the whole answer sent
  int64_t linger_ms = 500;          // after the answer, reading what the client still sends
  size_t workers = 2;
};

// Why the listener closed a connection before or instead of answering it.
enum class Refusal {
  HeadTimeout,
  HeadTooLarge,
  TooManyHeaderLines,
  Displaced,
  NoRoom,
  WriteTimeout
};
const char* refusalName(Refusal r);

// A complete request head and who sent it.
struct Request {
  std::string head;
  std::string remote_ip;
  int remote_port = 0;
  std::string local_ip;
  int local_port = 0;
};

// Turns a request into the bytes of its answer. Called on the worker threads.
using Answer = std::function<std::string(const Request& request)>;
// Told about every refusal, on the I/O thread; must be quick.
using OnRefusal = std::function<void(Refusal)>;

class Listener {
 public:
  // Binds host:port (port 0: any free port) and starts the I/O thread and the workers.
  static Result<std::unique_ptr<Listener>> start(const std::string& host, int port,
                                                 const Limits& limits, Answer answer,
                                                 OnRefusal on_refusal);
  // Stops the threads and closes every connection.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  int port() const { return port_; }

 private:
  struct Connection {
    UniqueFd fd;
    Request request;
    int64_t since_ms = 0;
    int64_t deadline_ms = 0;
    Phase phase = Phase::Reading;
    HeadScanner head;
    std::string out;
    size_t sent = 0;
  };
  struct Job {
    uint64_t id;
    Request request;
  };

  Listener(UniqueFd listen_fd, UniqueFd wake_fd, int port, const Limits& limits, Answer answer,
           OnRefusal on_refusal);
  void loop();
  void work();
  void wake();
  int pollTimeoutMs(int64_t now) const;
  void acceptAll(int64_t now);
  void admitOne(UniqueFd fd, Request who, int64_t now);
  void onReadable(uint64_t id, Connection& c);
  void onHead(uint64_t id, Connection& c);
  void onWritable(Connection& c, int64_t now);
  void takeAnswers(int64_t now);
  void expire(int64_t now);
  void refuse(Connection& c, Refusal why);
  void closeDone();

  UniqueFd listen_fd_;
  UniqueFd wake_fd_;  // eventfd: workers finished something, or stop
  int port_;
  Limits limits_;
  Answer answer_;
  OnRefusal on_refusal_;
  int64_t accept_paused_until_ = 0;  // out of file descriptors: let the backlog wait a moment

  std::map<uint64_t, Connection> conns_;  // I/O thread only
  uint64_t next_id_ = 1;

  std::mutex mu_;  // guards jobs_, answers_, stopping_
  std::condition_variable jobs_cv_;
  std::deque<Job> jobs_;
  std::vector<std::pair<uint64_t, std::string>> answers_;
  bool stopping_ = false;

  std::vector<std::thread> workers_;
  std::thread io_;
};

}  // namespace agent::http
