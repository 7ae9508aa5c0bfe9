// SPDX-License-Identifier: Apache-2.0
#include "handover/handover.h"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "common/text.h"
#include "handover/plan.h"
#include "redis/credentials.h"
#include "redis/info.h"

namespace agent::handover {

namespace {

class RedisNode final : public Node {
 public:
  explicit RedisNode(redis::Connection conn) : conn_(std::move(conn)) {}
  Result<cluster::Snapshot> snapshot() override { return cluster::takeSnapshot(conn_); }
  Result<redis::Reply> command(const std::vector<std::string>& args) override {
    return conn_.command(args);
  }

 private:
  redis::Connection conn_;
};

class RedisEnvironment final : public Environment {
 public:
  RedisEnvironment(redis::ConnectOptions connect, ServerNameFor name_for)
      : connect_(std::move(connect)), name_for_(std::move(name_for)) {}
  Result<std::unique_ptr<Node>> open(const std::string& host, int port) override {
    redis::ConnectOptions options = connect_;
    if (options.tls && name_for_) {
      options.tls->server_name = name_for_(host);
      options.tls->sni = !options.tls->server_name.empty();
    }
    auto conn = redis::connect({host, port}, options);
    if (!conn) return conn.error();
    return std::unique_ptr<Node>(std::make_unique<RedisNode>(std::move(*conn)));
  }
  int64_t nowMs() override { return monotonicMs(); }
  void sleepMs(int64_t ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

 private:
  redis::ConnectOptions connect_;
  ServerNameFor name_for_;
};

std::string roleText(const Result<cluster::Snapshot>& snap) {
  if (!snap) return snap.error().message;
  const nodes_conf::Node* me = snap->myself();
  if (me == nullptr) return "loading";
  if (me->isMaster()) return fmt::format("master with {} slots", me->slotCount());
  return fmt::format("replica of {}", text::shortId(me->master_id));
}

// Writes paused on the master for the forced attempt are resumed however it ends: by then the
// node is either a replica (paused writes get redirected) or still the master.
class WritePause {
 public:
  explicit WritePause(Node& master) : master_(master) {}
  ~WritePause() {
    if (paused_) (void)master_.command({"CLIENT", "UNPAUSE"});
  }
  WritePause(const WritePause&) = delete;
  WritePause& operator=(const WritePause&) = delete;
  Status pause(int64_t ms) {
    auto reply = master_.command({"CLIENT", "PAUSE", std::to_string(ms), "WRITE"});
    if (!reply) return reply.error();
    paused_ = true;
    return {};
  }

 private:
  Node& master_;
  bool paused_ = false;
};

// The local server must be one the agent supports; INFO without a version is not judged here.
Status supported(const cluster::Snapshot& local) {
  auto server = redis::serverInfoFrom(local.info);
  return server ? redis::supportedServer(*server) : Status{};
}

// One handover, from request to outcome.
class Run {
 public:
  Run(Environment& env, const Options& options, const Progress& progress)
      : env_(env),
        opt_(options),
        progress_(progress),
        start_(env.nowMs()),
        deadline_(start_ + options.timeout_ms) {}
  Outcome execute();

 private:
  // What trying the candidates of one decision gave: a handover's outcome, or why none could
  // take over and whether one of them is still syncing.
  struct Attempt {
    std::optional<Outcome> outcome;
    std::string why;
    bool syncing = false;
  };
  Attempt tryCandidates(Node& local, const Decision& d);
  Outcome handOver(Node& master, Node& replica, const Candidate& c,
                   const cluster::Snapshot& replica_snap);
  Outcome forceFallback(Node& master, Node& replica, const Candidate& c, int64_t elections_before);
  Outcome awaitDemotion(Node& master, Node& replica, const Candidate& c);
  Outcome switched(const Candidate& c) const {
    return finish(
        Outcome::Kind::HandedOver,
        fmt::format("roles switched in {} ms: {} is the master now, this node its replica",
                    env_.nowMs() - start_, c.describe()));
  }
  bool waitForSwitch(Node& master, Node& replica, const std::string& new_id, int64_t until,
                     std::string& seen);
  bool waitCaughtUp(Node& master, Node& replica, int64_t until, std::string& seen);
  Outcome drained(Node& local, Outcome outcome);
  void pause(int64_t until);
  int64_t remaining() const { return std::max<int64_t>(0, deadline_ - env_.nowMs()); }
  Outcome finish(Outcome::Kind kind, std::string message, bool forced = false) const {
    return Outcome{kind, std::move(message), forced, env_.nowMs() - start_};
  }

  Environment& env_;
  const Options& opt_;
  const Progress& progress_;
  int64_t start_;
  int64_t deadline_;
};

Outcome Run::execute() {
  auto local = env_.open(opt_.local_host, opt_.local_port);
  if (!local)
    return finish(Outcome::Kind::Failed,
                  "the local Redis does not answer: " + local.error().message);
  bool waited = false;
  for (;;) {
    auto snap = (*local)->snapshot();
    if (!snap)
      return finish(Outcome::Kind::Failed, "cannot read the local Redis: " + snap.error().message);
    Decision d = decide(*snap);
    if (!d.hand_over && d.syncing.empty()) return finish(Outcome::Kind::Skipped, d.reason);
    // CLIENT PAUSE ... WRITE and the checks below need a supported server; a replica of any
    // version may take over (an older one already holds the data, and this node leaves).
    if (Status st = supported(*snap); !st) {
      return finish(Outcome::Kind::Failed, "not handing over: " + st.error().message);
    }
    if (!waited || d.hand_over) progress_(d.reason);
    Attempt a = tryCandidates(**local, d);
    if (a.outcome) return drained(**local, std::move(*a.outcome));
    std::string why = d.hand_over ? "no replica can take over now: " + a.why : d.reason;
    if (!a.syncing && d.syncing.empty()) return finish(Outcome::Kind::Skipped, why);
    // A replica is in its first sync (typically just restarted by a rolling update): wait for
    // it while enough budget is left for the failover itself, rather than leave the shard
    // without a master for this pod's whole restart.
    if (remaining() <= kSyncReserveMs) {
      return finish(Outcome::Kind::Skipped, why + "; gave up waiting for a replica's sync");
    }
    if (!waited) progress_("waiting for a replica to finish its sync: " + why);
    waited = true;
    env_.sleepMs(kSyncPollMs);
  }
}

Run::Attempt Run::tryCandidates(Node& local, const Decision& d) {
  Attempt a;
  for (const Candidate& c : d.candidates) {
    auto replica = env_.open(c.host, c.port);
    Result<cluster::Snapshot> rsnap = replica ? (*replica)->snapshot() : replica.error();
    std::optional<std::string> problem =
        rsnap ? replicaProblem(*rsnap, d.my_id) : std::optional(rsnap.error().message);
    if (!problem) {
      a.outcome = handOver(local, **replica, c, *rsnap);
      return a;
    }
    a.syncing = a.syncing || (rsnap && midSync(*rsnap, d.my_id));
    a.why += fmt::format("{}{}: {}", a.why.empty() ? "" : "; ", c.describe(), *problem);
    progress_(fmt::format("replica {} cannot take over: {}", c.describe(), *problem));
  }
  return a;
}

Outcome Run::handOver(Node& master, Node& replica, const Candidate& c,
                      const cluster::Snapshot& replica_snap) {
  int64_t elections_before = electionsStarted(replica_snap);
  progress_(fmt::format("sending CLUSTER FAILOVER to {}", c.describe()));
  auto sent = replica.command({"CLUSTER", "FAILOVER"});
  if (!sent) {
    progress_(fmt::format("{} refused CLUSTER FAILOVER: {}", c.describe(), sent.error().message));
    return forceFallback(master, replica, c, elections_before);
  }
  std::string seen;
  int64_t until = std::min(deadline_, env_.nowMs() + kAttemptMs);
  if (waitForSwitch(master, replica, c.id, until, seen)) {
    return switched(c);
  }
  progress_(
      fmt::format("roles did not switch in {} ms (this node: {})", env_.nowMs() - start_, seen));
  return forceFallback(master, replica, c, elections_before);
}

// FORCE skips the master's handshake, so it could lose writes the replica has not received.
// It is sent only while the master's writes are paused and the replica's offset equals the
// master's, and only when no election ran for this shard yet (the vote lock, plan.h).
Outcome Run::forceFallback(Node& master, Node& replica, const Candidate& c,
                           int64_t elections_before) {
  if (!opt_.allow_force) return finish(Outcome::Kind::Failed, "handover failed; FORCE disabled");
  auto rsnap = replica.snapshot();
  if (!rsnap) return finish(Outcome::Kind::Failed, "replica lost: " + rsnap.error().message);
  if (rsnap->myself() != nullptr && rsnap->myself()->isMaster()) {
    return awaitDemotion(master, replica, c);
  }
  if (auto blocker =
          forceBlocker({elections_before, electionsStarted(*rsnap), remaining(), kForceNeededMs})) {
    return finish(Outcome::Kind::Failed, "handover failed, not forcing: " + *blocker);
  }
  WritePause writes(master);
  if (Status st = writes.pause(remaining()); !st) {
    return finish(Outcome::Kind::Failed, "cannot pause writes: " + st.error().message);
  }
  progress_(fmt::format("writes paused on this master; waiting for {} to catch up", c.describe()));
  std::string seen;
  if (!waitCaughtUp(master, replica, deadline_, seen)) {
    return finish(Outcome::Kind::Failed, "not forcing, the replica did not catch up: " + seen);
  }
  progress_(fmt::format("{} caught up ({}); sending CLUSTER FAILOVER FORCE", c.describe(), seen));
  if (auto sent = replica.command({"CLUSTER", "FAILOVER", "FORCE"}); !sent) {
    return finish(Outcome::Kind::Failed, "CLUSTER FAILOVER FORCE refused: " + sent.error().message);
  }
  if (!waitForSwitch(master, replica, c.id, deadline_, seen)) {
    return finish(
        Outcome::Kind::Failed,
        fmt::format("forced failover did not switch roles in time (this node: {})", seen));
  }
  return finish(
      Outcome::Kind::HandedOver,
      fmt::format("roles switched by a forced failover: {} is the master now", c.describe()), true);
}

// The replica won its election but this node has not heard yet. Writes it acknowledged now
// would be overruled by the new master and lost, so they stay paused until it has.
Outcome Run::awaitDemotion(Node& master, Node& replica, const Candidate& c) {
  WritePause writes(master);
  if (Status st = writes.pause(std::max<int64_t>(remaining(), 1)); !st) {
    return finish(Outcome::Kind::Failed, "cannot pause writes: " + st.error().message);
  }
  progress_(fmt::format("{} won the election; writes paused here until this node follows it",
                        c.describe()));
  std::string seen;
  if (!waitForSwitch(master, replica, c.id, deadline_, seen)) {
    return finish(Outcome::Kind::Failed,
                  fmt::format("{} is a master, but this node has not learned it (this node: {})",
                              c.describe(), seen));
  }
  return switched(c);
}

bool Run::waitForSwitch(Node& master, Node& replica, const std::string& new_id, int64_t until,
                        std::string& seen) {
  while (true) {
    auto m = master.snapshot();
    auto r = replica.snapshot();
    if (m && r && rolesSwitched(*m, *r, new_id)) return true;
    seen = roleText(m);
    if (env_.nowMs() >= until) return false;
    pause(until);
  }
}

bool Run::waitCaughtUp(Node& master, Node& replica, int64_t until, std::string& seen) {
  while (true) {
    auto m = master.snapshot();
    auto r = replica.snapshot();
    if (m && r) {
      seen = fmt::format("master offset {}, replica offset {}",
                         m->info.integerOr("master_repl_offset", -1),
                         r->info.integerOr("slave_repl_offset", -1));
      if (caughtUp(*m, *r)) return true;
    } else {
      seen = !m ? m.error().message : r.error().message;
    }
    if (env_.nowMs() >= until) return false;
    pause(until);
  }
}

// MOVED answers given so far (INFO errorstats, Redis >= 6.2 and Valkey); none when unknown.
std::optional<int64_t> movedCount(Node& node) {
  auto reply = node.command({"INFO", "errorstats"});
  if (!reply) return std::nullopt;
  // "errorstat_MOVED:count=12"; absent until the first MOVED.
  std::string field = redis::InfoFields::parse(reply->str).str("errorstat_MOVED", "count=0");
  constexpr std::string_view kCount = "count=";
  int64_t n = 0;
  if (field.rfind(kCount, 0) != 0) return std::nullopt;
  auto [end, ec] = std::from_chars(field.data() + kCount.size(), field.data() + field.size(), n);
  if (ec != std::errc() || end != field.data() + field.size()) return std::nullopt;
  return n;
}

// Clients whose slot map still names this node learn of the new master from the MOVED it
// answers them; stopping at once would leave them to find out from connection errors. So the
// handover returns once the node has gone drain_quiet_ms without a MOVED, and drain_min_ms have
// passed, at most drain_max_ms.
Outcome Run::drained(Node& local, Outcome outcome) {
  if (outcome.kind != Outcome::Kind::HandedOver || opt_.drain_max_ms <= 0) return outcome;
  int64_t began = env_.nowMs();
  int64_t until = std::min(deadline_, began + opt_.drain_max_ms);
  auto first = movedCount(local);
  if (!first) return outcome;
  int64_t last = *first;
  int64_t quiet_since = began;
  auto draining = [&] {
    int64_t now = env_.nowMs();
    return now < until &&
           (now - began < opt_.drain_min_ms || now - quiet_since < opt_.drain_quiet_ms);
  };
  while (draining()) {
    pause(until);
    auto now = movedCount(local);
    if (!now) break;
    if (*now != last) quiet_since = env_.nowMs();
    last = *now;
  }
  outcome.drain_ms = env_.nowMs() - began;
  outcome.redirected = last - *first;
  progress_(fmt::format("clients redirected to the new master: {} MOVED in {} ms{}",
                        outcome.redirected, outcome.drain_ms,
                        env_.nowMs() - quiet_since < opt_.drain_quiet_ms ? " (still coming)" : ""));
  return outcome;
}

void Run::pause(int64_t until) {
  env_.sleepMs(std::max<int64_t>(1, std::min(opt_.poll_ms, until - env_.nowMs())));
}

}  // namespace

std::unique_ptr<Environment> redisEnvironment(redis::ConnectOptions connect,
                                              ServerNameFor name_for) {
  return std::make_unique<RedisEnvironment>(std::move(connect), std::move(name_for));
}

Outcome run(Environment& env, const Options& options, const Progress& progress) {
  return Run(env, options, progress).execute();
}

}  // namespace agent::handover
