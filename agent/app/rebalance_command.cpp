// SPDX-License-Identifier: Apache-2.0
#include "app/rebalance_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>

#include "app/commands.h"
#include "common/counters.h"
#include "common/log.h"
#include "config/clients.h"
#include "migrate/links.h"
#include "migrate/rebalance.h"
#include "redis/connection.h"

namespace agent::app {

namespace {

const log::Logger kLog("rebalance");

Result<int64_t> number(const std::string& flag, const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return fail(Errc::Invalid, flag + " needs a positive number, not '" + text + "'");
  }
  return v;
}

Result<MigrateFlags> parseFlags(const std::vector<std::string>& args) {
  MigrateFlags f;
  for (size_t i = 2; i < args.size(); ++i) {
    auto known = parseMigrateFlag(f, args, i);
    if (!known) return known.error();
    if (!*known) return fail(Errc::Invalid, "unknown flag " + args[i]);
  }
  if (f.seed.empty()) return fail(Errc::Invalid, "--seed HOST:PORT is required");
  return f;
}

// One line a second (and the last one): percent, slots, keys, keys/s, ETA; on a terminal a bar
// redrawn in place.
void printProgress(const char* verb, const migrate::Progress& p, bool final_line) {
  static auto last = std::chrono::steady_clock::time_point{};
  auto now = std::chrono::steady_clock::now();
  if (!final_line && now - last < std::chrono::seconds(1)) return;
  last = now;
  double pct = p.slots_total > 0 ? 100.0 * p.slots_done / p.slots_total : 100.0;
  std::string line =
      fmt::format("{}: {:.0f}% {}/{} slots, {} keys, {:.0f} keys/s, ETA {:.0f} s", verb, pct,
                  p.slots_done, p.slots_total, p.keys_moved, p.keysPerSecond(), p.eta());
  if (::isatty(STDERR_FILENO) != 0) {
    auto filled = static_cast<size_t>(pct / 5);
    std::string bar =
        std::string(filled, '#') + std::string(20 - std::min<size_t>(filled, 20), '.');
    std::fprintf(stderr, "\r[%s] %s%s", bar.c_str(), line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

// The --test-stop-at hook: the first time a move reaches `point`, the process stops itself
// (SIGSTOP) for the test to SIGKILL it there, or to SIGCONT it after killing a Redis; later
// passes go on. SIGSTOP stops every thread, so moves running side by side stop together.
// Tests only: no user has a reason to freeze a move.
std::function<void(migrate::MovePoint, int)> stopOnceAt(migrate::MovePoint point) {
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  return [point, stopped](migrate::MovePoint at, int slot) {
    if (at != point || stopped->exchange(true)) return;
    kLog.info("Stopping at a test point (SIGSTOP)",
              {{"point", migrate::movePointName(at)}, {"slot", slot}});
    std::fflush(nullptr);  // the test reads the output of a process it may kill
    ::raise(SIGSTOP);
    kLog.info("Continued after the test point", {{"point", migrate::movePointName(at)}});
  };
}

int run(const MigrateFlags& f) {
  auto connect = connectFrom(f);
  if (!connect) {
    kLog.error("Bad flags", {{"err", connect.error().message}});
    return kExitUsage;
  }
  auto seed = parseHostPort(f.seed);
  auto peers = seedPeers(*seed, connect->options);
  if (!peers) {
    kLog.error("Cannot read the cluster", {{"err", peers.error().message}});
    return kExitFailure;
  }
  auto report = runEngine(f, *connect, *peers, {}, "rebalance");
  if (!report) {
    kLog.error("Rebalance stopped; run it again to finish", {{"err", report.error().message}});
    return kExitFailure;
  }
  kLog.info("Rebalance done", {{"repaired", report->repaired},
                               {"slots_moved", report->progress.slots_done},
                               {"keys_moved", report->progress.keys_moved},
                               {"dry_run", f.dry_run}});
  return kExitOk;
}

// The agent's flags the verbs accept for their connections ("--flag=value" or "--flag value").
Result<bool> parseAgentFlag(MigrateFlags& f, const std::vector<std::string>& args, size_t& i) {
  static const std::vector<std::string> kAgentFlags = {"--tls",           "--tls-ca-file",
                                                       "--tls-cert-file", "--tls-key-file",
                                                       "--tls-verify",    "--peer-host-template"};
  const std::string& a = args[i];
  std::string name = a.substr(0, a.find('='));
  if (std::find(kAgentFlags.begin(), kAgentFlags.end(), name) == kAgentFlags.end()) return false;
  if (name != a) {
    f.agent_flags.push_back(a);
    return true;
  }
  if (i + 1 >= args.size()) return fail(Errc::Invalid, a + " needs a value");
  f.agent_flags.push_back(a + "=" + args[++i]);
  return true;
}

}  // namespace

Result<bool> parseMigrateFlag(MigrateFlags& f, const std::vector<std::string>& args, size_t& i) {
  if (auto agent_flag = parseAgentFlag(f, args, i); !agent_flag || *agent_flag) return agent_flag;
  const std::string& a = args[i];
  if (a == "--dry-run") {
    f.dry_run = true;
    return true;
  }
  static const std::vector<std::string> kValued = {
      "--seed",         "--password-file", "--batch-keys", "--batch-slots", "--migrate-timeout-ms",
      "--test-stop-at", "--parallel"};
  if (std::find(kValued.begin(), kValued.end(), a) == kValued.end()) return false;
  if (i + 1 >= args.size()) return fail(Errc::Invalid, a + " needs a value");
  const std::string& value = args[++i];
  if (a == "--test-stop-at") {
    f.stop_at = migrate::parseMovePoint(value);
    if (!f.stop_at) {
      return fail(Errc::Invalid, fmt::format("--test-stop-at needs one of {}, not '{}'",
                                             fmt::join(migrate::movePointNames(), ", "), value));
    }
  } else if (a == "--seed") {
    f.seed = value;
  } else if (a == "--password-file") {
    f.password_file = value;
  } else {
    auto n = number(a, value);
    if (!n) return n.error();
    if (a == "--batch-keys") f.mover.batch_keys = static_cast<int>(*n);
    if (a == "--batch-slots") f.mover.slots_per_batch = static_cast<int>(*n);
    if (a == "--migrate-timeout-ms") f.mover.migrate_timeout_ms = *n;
    if (a == "--parallel") f.parallel = static_cast<int>(*n);
  }
  return true;
}

Result<Connect> connectFrom(const MigrateFlags& f) {
  auto seed = parseHostPort(f.seed);
  if (!seed) return seed.error();
  auto password = redis::readPasswordFile(f.password_file);
  if (!password) return password.error();
  std::vector<std::string> args = {"redis-cluster-agent"};
  args.insert(args.end(), f.agent_flags.begin(), f.agent_flags.end());
  // Status reads the same connection flags and variables; the agent container's other AGENT_*
  // variables are no concern of a verb.
  auto agent = config::parseCommandLine(config::Command::Status, args, environment(),
                                        config::EnvPolicy::Lenient);
  if (!agent) return agent.error();
  redis::ConnectOptions options{2000, 5000, *password};
  options.tls = config::tlsOptions(*agent);
  if (options.tls) {
    agent->redis.host = seed->host;  // the seed stands for the pod's own Redis
    options.tls_name_for = config::podServerNames(*agent);
  }
  return Connect{*password, options};
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

Result<migrate::RebalanceReport> runEngine(const MigrateFlags& f, const Connect& connect,
                                           const std::vector<migrate::Peer>& peers,
                                           std::vector<std::string> targets, const char* verb) {
  migrate::Links links(peers, connect.options);
  migrate::RebalanceOptions options;
  options.mover = f.mover;
  options.mover.password = connect.password;
  options.targets = std::move(targets);
  options.parallel = f.parallel;
  options.dry_run = f.dry_run;
  options.wait_ready_ms = 60000;
  options.sleep = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  options.on_progress = [verb](const migrate::Progress& p) { printProgress(verb, p, false); };
  if (f.stop_at) options.hooks.at = stopOnceAt(*f.stop_at);
  Activity activity;
  auto report = migrate::rebalance(links, peers, options, activity);
  if (report) printProgress(verb, report->progress, true);
  return report;
}

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
