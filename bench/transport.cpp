// SPDX-License-Identifier: Apache-2.0
// Per-command cost of the agent's Redis connection against its baseline, hiredis 0.14's
// blocking API (what the agent used before), on one persistent connection each, plus TLS.
// Run through bench/transport.py, which starts a redis-server with a plaintext and a TLS port.
//   bench_transport HOST PORT TLS_PORT CA_FILE [ROUNDS]
#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.h"

namespace {

using agent::redis::Connection;
using Clock = std::chrono::steady_clock;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(void* r) const { freeReplyObject(r); }
};

// Microseconds per call of `op`, the median of `rounds` runs of `n` calls.
double perCallUs(int rounds, int n, const std::function<bool()>& op) {
  std::vector<double> runs;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (!op()) {
        std::fprintf(stderr, "a call failed\n");
        std::exit(1);
      }
    }
    std::chrono::duration<double, std::micro> took = Clock::now() - t0;
    runs.push_back(took.count() / n);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

std::unique_ptr<redisContext, ContextFree> hiredisConnect(const std::string& host, int port) {
  std::unique_ptr<redisContext, ContextFree> c(redisConnectWithTimeout(host.c_str(), port, {1, 0}));
  if (!c || c->err != 0) {
    std::fprintf(stderr, "hiredis cannot connect\n");
    std::exit(1);
  }
  return c;
}

bool hiredisCall(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  std::unique_ptr<void, ReplyFree> r(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  return r != nullptr;
}

Connection open(const std::string& host, int port, const std::string& ca) {
  agent::redis::ConnectOptions o;
  o.command_timeout_ms = 5000;
  if (!ca.empty()) o.tls = agent::redis::TlsOptions{ca};
  auto c = Connection::open({host, port}, o);
  if (!c) {
    std::fprintf(stderr, "%s\n", c.error().message.c_str());
    std::exit(1);
  }
  return std::move(*c);
}

void row(const char* what, double base, double plain, double tls) {
  std::printf("| %s | %.1f us | %.1f us | %.2f | %.1f us | %.2f |\n", what, base, plain,
              plain / base, tls, tls / plain);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_transport HOST PORT TLS_PORT CA_FILE [ROUNDS]\n");
    return 2;
  }
  std::string host = argv[1], ca = argv[4];
  int port = std::stoi(argv[2]), tls_port = std::stoi(argv[3]);
  int rounds = argc > 5 ? std::stoi(argv[5]) : 5;
  auto hi = hiredisConnect(host, port);
  Connection plain = open(host, port, "");
  Connection tls = open(host, tls_port, ca);
  // 200 KB: CLUSTER NODES of a 1000-node cluster.
  if (!plain.command({"SET", "nodes", std::string(200 * 1024, 'n')})) return 1;

  std::printf(
      "| per call, median of %d runs | hiredis 0.14 (baseline) | Connection | ratio | "
      "Connection + TLS | TLS / plain |\n|---|---|---|---|---|---|\n",
      rounds);
  std::vector<std::string> ping{"PING"}, get{"GET", "nodes"};
  row("PING (10000 calls)", perCallUs(rounds, 10000, [&] { return hiredisCall(hi.get(), ping); }),
      perCallUs(rounds, 10000, [&] { return plain.command(ping).has_value(); }),
      perCallUs(rounds, 10000, [&] { return tls.command(ping).has_value(); }));
  row("GET of 200 KB (1000 calls)",
      perCallUs(rounds, 1000, [&] { return hiredisCall(hi.get(), get); }),
      perCallUs(rounds, 1000, [&] { return plain.command(get).has_value(); }),
      perCallUs(rounds, 1000, [&] { return tls.command(get).has_value(); }));
  std::vector<std::vector<std::string>> batch(1000, ping);
  double piped = perCallUs(rounds, 10, [&] { return plain.pipeline(batch).has_value(); }) / 1000;
  double piped_tls = perCallUs(rounds, 10, [&] { return tls.pipeline(batch).has_value(); }) / 1000;
  std::printf("| PING in pipelines of 1000 | - | %.2f us | - | %.2f us | %.2f |\n", piped,
              piped_tls, piped_tls / piped);
  double connect = perCallUs(rounds, 100, [&] { return open(host, port, "").healthy(); });
  double handshake = perCallUs(rounds, 100, [&] { return open(host, tls_port, ca).healthy(); });
  std::printf("| connect (100 times) | - | %.1f us | - | %.1f us | %.2f |\n", connect, handshake,
              handshake / connect);
  return 0;
}
