// SPDX-License-Identifier: Apache-2.0
#include "migrate/rebalance.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/text.h"
#include "redis/info.h"
#include "redis/server_info.h"

namespace agent::migrate {

namespace {

const log::Logger kLog("migrate");

bool usable(const nodes_conf::Node& n) {
  return n.isMaster() && !n.isFailed() && !n.isNoaddr() && !n.inHandshake();
}

std::vector<int> expand(const std::vector<nodes_conf::SlotRange>& ranges) {
  std::vector<int> out;
  for (const auto& r : ranges) {
    for (int s = r.first; s <= r.last; ++s) out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status checkState(Nodes& nodes, const Peer& peer) {
  auto info = nodes.command(peer.id, {"CLUSTER", "INFO"});
  if (!info) return info.error();
  if (info->str.find("cluster_state:ok") == std::string::npos) {
    return fail(Errc::Refused, fmt::format("{} does not report cluster_state:ok yet (a master "
                                           "just added waits out its rejoin delay): wait and "
                                           "run again",
                                           peer.id));
  }
  return {};
}

// Valkey 8 copies slot states (SETSLOT) to a master's replicas, but only to those online at the
// time: a replica still syncing (5 s at least, the default diskless sync delay) misses the final
// SETSLOT NODE and keeps an IMPORTING or MIGRATING marker that its master no longer has and that
// nothing clears (measured, 8.0.1). So on Valkey slots move only while every replica a master
// has in the cluster is online. Redis copies no slot state: it is not asked.
Status checkReplicasOnline(Nodes& nodes, const Peer& peer, const nodes_conf::NodesConf& view) {
  int replicas = 0;
  for (const auto& n : view.nodes()) {
    replicas += n.master_id == peer.id && !n.isFailed() && !n.isNoaddr() ? 1 : 0;
  }
  if (replicas == 0) return {};
  auto replies = nodes.pipeline(peer.id, {{"INFO", "server"}, {"INFO", "replication"}}, {});
  if (!replies) return replies.error();
  for (const auto& r : *replies) {
    if (!r) return fail(r.error().code, peer.id + ": INFO: " + r.error().message);
  }
  if (replies->size() != 2) return fail(Errc::Protocol, peer.id + ": INFO: expected two replies");
  auto server = redis::serverInfoFrom(redis::InfoFields::parse((*replies)[0]->str));
  if (!server || server->name != "valkey") return {};
  int online = 0;
  for (auto line : text::splitLines((*replies)[1]->str)) {
    online += text::startsWith(line, "slave") && line.find("state=online") != line.npos ? 1 : 0;
  }
  if (online >= replicas) return {};
  return fail(Errc::Refused,
              fmt::format("{} has {} replica(s) in the cluster but {} online: Valkey copies slot "
                          "moves only to online replicas (one still syncing would keep a stale "
                          "slot marker): wait and run again",
                          peer.id, replicas, online));
}

// Every master must know every other one, as a working master, before slots move between
// them: the source's ASK and the others' SETSLOT NODE name the target by ID.
Status checkAgreement(const Peer& viewer, const nodes_conf::NodesConf& view,
                      const std::vector<Peer>& peers) {
  for (const auto& q : peers) {
    const auto* n = view.find(q.id);
    if (n == nullptr || !usable(*n)) {
      return fail(Errc::Refused, fmt::format("{} does not know {} as a working master yet (the "
                                             "nodes do not agree): wait for gossip and run again",
                                             viewer.id, q.id));
    }
  }
  return {};
}

Status checkCoverage(const std::vector<Master>& masters) {
  std::vector<int> owners(nodes_conf::kSlotCount, 0);
  for (const auto& m : masters) {
    for (int s : m.slots) ++owners[static_cast<size_t>(s)];
  }
  // Two claims on an open slot are a move that stopped after the target's SETSLOT NODE, before
  // the source heard of it: the repair finishes it.
  for (const auto& m : masters) {
    for (const auto& o : m.open) owners[static_cast<size_t>(o.slot)] = 1;
  }
  int uncovered = static_cast<int>(std::count(owners.begin(), owners.end(), 0));
  int shared =
      static_cast<int>(std::count_if(owners.begin(), owners.end(), [](int n) { return n > 1; }));
  if (uncovered == 0 && shared == 0) return {};
  return fail(Errc::Refused,
              fmt::format("{} slot(s) have no owner and {} more than one among the masters; "
                          "nothing is moved until every slot has exactly one",
                          uncovered, shared));
}

const Master* findMaster(const std::vector<Master>& masters, const std::string& id) {
  for (const auto& m : masters) {
    if (m.peer.id == id) return &m;
  }
  return nullptr;
}

bool claims(const Master& m, int slot) {
  return std::binary_search(m.slots.begin(), m.slots.end(), slot);
}

std::string ownerOf(const std::vector<Master>& masters, int slot) {
  for (const auto& m : masters) {
    if (claims(m, slot)) return m.peer.id;
  }
  return "";
}

std::vector<Peer> peersOf(const std::vector<Master>& masters) {
  std::vector<Peer> out;
  out.reserve(masters.size());
  for (const auto& m : masters) out.push_back(m.peer);
  return out;
}

std::vector<std::string> idsOf(const std::vector<Peer>& peers) {
  std::vector<std::string> ids;
  ids.reserve(peers.size());
  for (const auto& p : peers) ids.push_back(p.id);
  return ids;
}

}  // namespace

double Progress::eta() const {
  if (slots_done == 0 || seconds <= 0) return 0;
  return seconds / slots_done * (slots_total - slots_done);
}

std::vector<Peer> mastersIn(const nodes_conf::NodesConf& view, const std::string& seed_host) {
  std::vector<Peer> out;
  for (const auto& n : view.nodes()) {
    if (!usable(n)) continue;
    std::string host = n.address.host.empty() && n.isMyself() ? seed_host : n.address.host;
    if (host.empty()) continue;
    out.push_back({n.id, host, n.address.port()});
  }
  return out;
}

Result<std::vector<Master>> readMasters(Nodes& nodes, const std::vector<Peer>& peers) {
  std::vector<std::pair<Peer, nodes_conf::NodesConf>> views;
  for (const auto& p : peers) {
    auto view = viewOf(nodes, p);
    if (!view) return view.error();
    // A node the seed still listed as a master may have become a replica since (add-node
    // --cluster-slave joins as a master first): it takes no part.
    if (view->myself().isMaster()) views.emplace_back(p, std::move(*view));
  }
  std::vector<Peer> live;
  live.reserve(views.size());
  for (const auto& [p, view] : views) live.push_back(p);
  std::vector<Master> masters;
  for (const auto& [p, view] : views) {
    if (auto agreed = checkAgreement(p, view, live); !agreed) return agreed.error();
    if (auto ok = checkState(nodes, p); !ok) return ok.error();
    if (auto ok = checkReplicasOnline(nodes, p, view); !ok) return ok.error();
    const auto& me = view.myself();
    masters.push_back({p, expand(me.slots), me.open_slots});
  }
  if (auto covered = checkCoverage(masters); !covered) return covered.error();
  return masters;
}

Result<std::vector<Repair>> planRepairs(const std::vector<Master>& masters) {
  std::map<int, Repair> open;
  std::vector<std::string> problems;
  for (const auto& m : masters) {
    for (const auto& o : m.open) {
      Repair r{o.slot, o.migrating ? m.peer.id : o.node_id, o.migrating ? o.node_id : m.peer.id};
      auto [it, fresh] = open.emplace(o.slot, r);
      if (!fresh && (it->second.from != r.from || it->second.to != r.to)) {
        problems.push_back(fmt::format("slot {} is open for two different moves", o.slot));
      }
    }
  }
  std::vector<Repair> out;
  for (auto& [slot, r] : open) {
    const Master* from = findMaster(masters, r.from);
    const Master* to = findMaster(masters, r.to);
    if (from == nullptr || to == nullptr) {
      problems.push_back(
          fmt::format("slot {} is open between {} and {}, and one of them is not "
                      "a working master now",
                      slot, r.from, r.to));
    } else if (claims(*to, slot) || claims(*from, slot)) {
      // The target's claim wins: its SETSLOT NODE bumped its epoch.
      r.phase = claims(*to, slot) ? Phase::Drain : Phase::Open;
      out.push_back(r);
    } else {
      std::string owner = ownerOf(masters, slot);
      problems.push_back(fmt::format("slot {} is open between {} and {} but owned by {}", slot,
                                     r.from, r.to, owner.empty() ? "nobody" : owner));
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return fail(Errc::Refused, all +
                                   ": nothing was changed; look at both nodes' keys of "
                                   "the slot before fixing it by hand");
  }
  return out;
}

namespace {

std::vector<MasterSlots> slotsOf(const std::vector<Master>& masters) {
  std::vector<MasterSlots> out;
  out.reserve(masters.size());
  for (const auto& m : masters) out.push_back({m.peer.id, m.slots});
  return out;
}

const Peer& peerOf(const std::vector<Peer>& peers, const std::string& id) {
  return *std::find_if(peers.begin(), peers.end(), [&](const Peer& p) { return p.id == id; });
}

Status finishOpenSlots(SlotMover& mover, const std::vector<Peer>& peers,
                       const std::vector<Repair>& repairs, Activity& activity) {
  for (const auto& r : repairs) {
    kLog.info("Finishing a slot move an earlier run left open",
              {{"slot", r.slot},
               {"from", r.from},
               {"to", r.to},
               {"phase", r.phase == Phase::Open ? "whole move" : "drain and close"}});
    const Peer& src = peerOf(peers, r.from);
    const Peer& dst = peerOf(peers, r.to);
    if (auto moved = mover.move(r.slot, src, dst, r.phase); !moved) {
      activity.errors.add(ErrorKind::MigrateFailed);
      return moved;
    }
    mover.announce({r.slot}, src, dst, idsOf(peers));
    activity.actions.add(Action::SlotRepaired);
  }
  return {};
}

using Clock = std::chrono::steady_clock;

// What the threads of runMoves share: which pairs are taken, the progress, the first failure.
class MoveRun {
 public:
  MoveRun(const Plan& plan, const RebalanceOptions& options, Progress& progress)
      : plan_(plan), options_(options), progress_(progress) {
    progress_.slots_total = plan.slotsToMove();
  }

  // The next pair no thread moves yet; nullptr once every pair is taken or a move failed.
  const Move* next() {
    std::lock_guard lock(mu_);
    if (error_ || next_ >= plan_.moves.size()) return nullptr;
    return &plan_.moves[next_++];
  }

  bool stopped() {
    std::lock_guard lock(mu_);
    return error_.has_value();
  }

  void done(int slots, int64_t keys) {
    std::lock_guard lock(mu_);
    progress_.slots_done += slots;
    progress_.keys_moved += keys;
    progress_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    if (options_.on_progress) options_.on_progress(progress_);
  }

  void failed(Error e) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = std::move(e);
  }

  Status result() {
    std::lock_guard lock(mu_);
    if (error_) return *error_;
    return {};
  }

 private:
  std::mutex mu_;
  const Plan& plan_;
  const RebalanceOptions& options_;
  Progress& progress_;
  const Clock::time_point started_ = Clock::now();
  size_t next_ = 0;
  std::optional<Error> error_;
};

// Every slot of one pair, `slots_per_batch` at a time; stops between batches once another
// pair failed (the batch under way is finished, so no slot is left open on purpose). Each batch
// ends with the target and the source owning the change; the other masters are told once, at
// the end: telling them per batch waited on masters busy with other pairs' MIGRATEs (a quarter
// of the pair's time, bench/README.md "Slot moves"), and gossip carries it to them meanwhile.
Status movePair(SlotMover& mover, const Move& move, const std::vector<Peer>& peers,
                const RebalanceOptions& options, MoveRun& run, Activity& activity) {
  kLog.info("Moving slots to even out the masters",
            {{"from", move.from}, {"to", move.to}, {"slots", move.slots.size()}});
  const Peer src = peerOf(peers, move.from);
  const Peer dst = peerOf(peers, move.to);
  const size_t step = static_cast<size_t>(std::max(1, options.mover.slots_per_batch));
  std::vector<int> closed;
  Status result;
  for (size_t at = 0; at < move.slots.size() && !run.stopped(); at += step) {
    std::vector<int> slots(
        move.slots.begin() + static_cast<long>(at),
        move.slots.begin() + static_cast<long>(std::min(at + step, move.slots.size())));
    const int64_t keys_before = mover.keysMoved();
    if (auto moved = mover.moveSlots(slots, src, dst); !moved) {
      activity.errors.add(ErrorKind::MigrateFailed);
      result = fail(moved.error().code,
                    fmt::format("slots {}-{} ({} -> {}): {}", slots.front(), slots.back(),
                                move.from, move.to, moved.error().message));
      break;
    }
    closed.insert(closed.end(), slots.begin(), slots.end());
    run.done(static_cast<int>(slots.size()), mover.keysMoved() - keys_before);
  }
  mover.announce(closed, src, dst, idsOf(peers));
  return result;
}

// One thread's share of the moves: pair after pair, until none is left.
void movePairs(Nodes& nodes, const std::vector<Peer>& peers, const RebalanceOptions& options,
               MoveRun& run, Activity& activity) {
  SlotMover mover(nodes, activity, options.mover);
  mover.setHooks(options.hooks);
  while (const Move* move = run.next()) {
    if (auto s = movePair(mover, *move, peers, options, run, activity); !s) {
      run.failed(s.error());
      return;
    }
  }
}

// Up to options.parallel pairs at once: this thread plus one thread per extra seam.
Status runMoves(Nodes& nodes, const std::vector<Peer>& peers, const Plan& plan,
                const RebalanceOptions& options, Progress& progress, Activity& activity) {
  MoveRun run(plan, options, progress);
  const size_t workers =
      std::min(static_cast<size_t>(std::max(1, options.parallel)), plan.moves.size());
  std::vector<std::unique_ptr<Nodes>> seams;
  for (size_t i = 1; i < workers; ++i) {
    auto seam = nodes.another();
    if (!seam) break;
    seams.push_back(std::move(seam));
  }
  std::vector<std::thread> threads;
  threads.reserve(seams.size());
  for (auto& seam : seams) {
    threads.emplace_back([&, n = seam.get()] { movePairs(*n, peers, options, run, activity); });
  }
  movePairs(nodes, peers, options, run, activity);
  for (auto& t : threads) t.join();
  return run.result();
}

// readMasters, again every 500 ms while it is refused (the masters do not agree or are not ok
// yet), for up to options.wait_ready_ms.
Result<std::vector<Master>> readyMasters(Nodes& nodes, const std::vector<Peer>& peers,
                                         const RebalanceOptions& options) {
  constexpr int64_t kStepMs = 500;
  for (int64_t waited = 0;; waited += kStepMs) {
    auto masters = readMasters(nodes, peers);
    if (masters || masters.error().code != Errc::Refused || waited >= options.wait_ready_ms ||
        !options.sleep) {
      return masters;
    }
    kLog.info("Waiting for the masters to agree", {{"why", masters.error().message}});
    options.sleep(kStepMs);
  }
}

}  // namespace

Result<RebalanceReport> rebalance(Nodes& nodes, const std::vector<Peer>& candidates,
                                  const RebalanceOptions& options, Activity& activity) {
  RebalanceReport report;
  auto masters = readyMasters(nodes, candidates, options);
  if (!masters) return masters.error();
  const auto peers = peersOf(*masters);
  auto repairs = planRepairs(*masters);
  if (!repairs) return repairs.error();
  SlotMover mover(nodes, activity, options.mover);
  mover.setHooks(options.hooks);
  if (!repairs->empty() && !options.dry_run) {
    if (auto done = finishOpenSlots(mover, peers, *repairs, activity); !done) return done.error();
    report.repaired = static_cast<int>(repairs->size());
    masters = readyMasters(nodes, candidates, options);
    if (!masters) return masters.error();
  }
  auto targets = options.targets.empty() ? idsOf(peers) : options.targets;
  for (const auto& t : targets) {
    if (findMaster(*masters, t) == nullptr) {
      return fail(Errc::Invalid, t + " is not a working master known to every master");
    }
  }
  report.plan = planMoves(slotsOf(*masters), targets);
  kLog.info("Rebalance planned", {{"masters", masters->size()},
                                  {"targets", targets.size()},
                                  {"slots_to_move", report.plan.slotsToMove()},
                                  {"ideal", report.plan.ideal},
                                  {"tolerance", report.plan.tolerance}});
  if (options.dry_run || report.plan.moves.empty()) return report;
  if (auto ran = runMoves(nodes, peers, report.plan, options, report.progress, activity); !ran) {
    return ran.error();
  }
  return report;
}

}  // namespace agent::migrate
