// SPDX-License-Identifier: Apache-2.0
#include "app/rebalance_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <thread>

#include "app/commands.h"
#include "common/counters.h"
#include "common/log.h"
#include "migrate/links.h"
#include "migrate/rebalance.h"
#include "redis/connection.h"

namespace agent::app {

namespace {

const log::Logger kLog("rebalance");

struct Flags {
  std::string seed;
  std::string password_file;
  migrate::MoverOptions mover;
  bool dry_run = false;
  bool pause_after_open = false;
};

Result<int64_t> number(const std::string& flag, const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return fail(Errc::Invalid, flag + " needs a positive number, not '" + text + "'");
  }
  return v;
}

Status setNumber(Flags& f, const std::string& flag, int64_t n) {
  if (flag == "--batch-keys") {
    f.mover.batch_keys = static_cast<int>(n);
  } else if (flag == "--batch-slots") {
    f.mover.slots_per_batch = static_cast<int>(n);
  } else if (flag == "--migrate-timeout-ms") {
    f.mover.migrate_timeout_ms = n;
  } else {
    return fail(Errc::Invalid, "unknown flag " + flag);
  }
  return {};
}

Status setValue(Flags& f, const std::string& flag, const std::string& value) {
  if (flag == "--seed") {
    f.seed = value;
  } else if (flag == "--password-file") {
    f.password_file = value;
  } else {
    auto n = number(flag, value);
    if (!n) return n.error();
    return setNumber(f, flag, *n);
  }
  return {};
}

Result<Flags> parseFlags(const std::vector<std::string>& args) {
  Flags f;
  for (size_t i = 2; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--dry-run") {
      f.dry_run = true;
    } else if (a == "--test-pause-after-open") {
      f.pause_after_open = true;
    } else if (i + 1 >= args.size()) {
      return fail(Errc::Invalid, a + " needs a value");
    } else if (auto s = setValue(f, a, args[++i]); !s) {
      return s.error();
    }
  }
  if (f.seed.empty()) return fail(Errc::Invalid, "--seed HOST:PORT is required");
  return f;
}

void printProgress(const migrate::Progress& p, bool final_line) {
  static auto last = std::chrono::steady_clock::time_point{};
  auto now = std::chrono::steady_clock::now();
  if (!final_line && now - last < std::chrono::seconds(1)) return;
  last = now;
  double pct = p.slots_total > 0 ? 100.0 * p.slots_done / p.slots_total : 100.0;
  std::fprintf(stderr, "rebalance: %.0f%% %d/%d slots, %lld keys, %.0f keys/s, ETA %.0f s\n", pct,
               p.slots_done, p.slots_total, static_cast<long long>(p.keys_moved), p.keysPerSecond(),
               p.eta());
}

Result<std::vector<migrate::Peer>> seedPeers(const HostPort& seed, const redis::ConnectOptions& o) {
  auto conn = redis::Connection::open(seed, o);
  if (!conn) return conn.error();
  auto text = conn->commandString({"CLUSTER", "NODES"});
  if (!text) return text.error();
  auto view = nodes_conf::parseClusterNodes(*text);
  if (!view) return view.error();
  return migrate::mastersIn(*view, seed.host);
}

int run(const Flags& f) {
  auto seed = parseHostPort(f.seed);
  auto password = redis::readPasswordFile(f.password_file);
  if (!seed || !password) {
    kLog.error("Bad flags", {{"err", !seed ? seed.error().message : password.error().message}});
    return kExitUsage;
  }
  redis::ConnectOptions connect{2000, 5000, *password};
  auto peers = seedPeers(*seed, connect);
  if (!peers) {
    kLog.error("Cannot read the cluster", {{"err", peers.error().message}});
    return kExitFailure;
  }
  migrate::Links links(*peers, connect);
  migrate::RebalanceOptions options;
  options.mover = f.mover;
  options.mover.password = *password;
  options.dry_run = f.dry_run;
  options.wait_ready_ms = 60000;
  options.sleep = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  options.on_progress = [](const migrate::Progress& p) { printProgress(p, false); };
  if (f.pause_after_open) {
    options.hooks.after_open = [](int slot) {
      kLog.info("Paused after opening a slot (test hook)", {{"slot", slot}});
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    };
  }
  Activity activity;
  auto report = migrate::rebalance(links, *peers, options, activity);
  if (!report) {
    kLog.error("Rebalance stopped; run it again to finish", {{"err", report.error().message}});
    return kExitFailure;
  }
  printProgress(report->progress, true);
  kLog.info("Rebalance done", {{"repaired", report->repaired},
                               {"slots_moved", report->progress.slots_done},
                               {"keys_moved", report->progress.keys_moved},
                               {"dry_run", f.dry_run}});
  return kExitOk;
}

}  // namespace

bool isRebalanceCommand(const std::vector<std::string>& args) {
  return args.size() >= 2 && args[1] == "rebalance";
}

int runRebalance(const std::vector<std::string>& args) {
  log::init(log::Format::Text, log::Level::Info);
  auto flags = parseFlags(args);
  if (!flags) {
    std::fprintf(stderr, "redis-cluster-agent rebalance: %s\n", flags.error().message.c_str());
    return kExitUsage;
  }
  return run(*flags);
}

}  // namespace agent::app
