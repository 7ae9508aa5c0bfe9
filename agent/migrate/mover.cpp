// SPDX-License-Identifier: Apache-2.0
#include "migrate/mover.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "nodes_conf/nodes_conf.h"
#include "redis/info.h"
#include "redis/server_info.h"

namespace agent::migrate {

namespace {

const log::Logger kLog("migrate");

// Drops the source's copy of a key only when it is byte-identical to the target's (DUMP
// payloads), atomically, so a write to the source between the compare and the delete is
// impossible. 1: dropped; 0: the source has no such key; -1: the copies differ.
constexpr const char* kDropIfSame =
    "local v = redis.call('DUMP', KEYS[1]) "
    "if not v then return 0 end "
    "if v == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end "
    "return -1";

bool startsWith(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool isBusyKey(const Error& e) {
  return e.code == Errc::Server && startsWith(e.message, "BUSYKEY");
}

// Failures after which the same keys may simply be sent again: MIGRATE deletes the source's
// copies only once the target confirmed them, so nothing was lost.
bool isRetryable(const Error& e) {
  return e.code == Errc::Timeout || e.code == Errc::Transport ||
         (e.code == Errc::Server && startsWith(e.message, "IOERR"));
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::string firstKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 5; ++i) out += (i == 0 ? "" : " ") + keys[i];
  return keys.size() > 5 ? out + " ..." : out;
}

// Redis runs every command it read from a connection at once before it serves another client,
// and each MIGRATE waits for the target's answer: one pipeline of a whole batch's MIGRATEs
// would keep the source's clients waiting for all of them (bench/README.md "Slot moves": 0.5 s
// under load with three pairs moving into one target, ~1 s with 61 keys per slot). So a round
// holds at most this many MIGRATEs and, past its first MIGRATE, this many keys (on a quiet
// machine 32/400 moved ~20% faster than 16/200 with no longer gap; 64/800 gained nothing and
// stretched the gap to 0.45 s).
constexpr size_t kMigratesPerRound = 32;
constexpr size_t kKeysPerRound = 400;

// Where the round that starts at `at` ends.
size_t roundEnd(const std::vector<std::vector<std::string>>& keys, size_t at) {
  size_t end = at;
  size_t held = 0;
  while (end < keys.size() && end - at < kMigratesPerRound &&
         (end == at || held + keys[end].size() <= kKeysPerRound)) {
    held += keys[end].size();
    ++end;
  }
  return end;
}

// `commands` (one MIGRATE of `keys[i]` each) to `id`, a round per pipeline; a round that fails
// as a whole (the node did not answer) answers its commands and every later one with that error.
std::vector<Result<redis::Reply>> inRounds(Nodes& nodes, const std::string& id,
                                           const std::vector<std::vector<std::string>>& commands,
                                           const std::vector<std::vector<std::string>>& keys,
                                           const redis::CommandOptions& how) {
  std::vector<Result<redis::Reply>> out;
  out.reserve(commands.size());
  for (size_t at = 0; at < commands.size();) {
    const size_t end = roundEnd(keys, at);
    auto replies = nodes.pipeline(
        id, {commands.begin() + static_cast<long>(at), commands.begin() + static_cast<long>(end)},
        how);
    if (!replies) {
      while (out.size() < commands.size()) out.emplace_back(replies.error());
      break;
    }
    for (auto& r : *replies) out.push_back(std::move(r));
    at = end;
  }
  return out;
}

constexpr std::pair<MovePoint, const char*> kMovePoints[] = {
    {MovePoint::AfterImporting, "after-importing"},
    {MovePoint::AfterOpen, "after-open"},
    {MovePoint::MidBatch, "mid-batch"},
    {MovePoint::BeforeSetslotNode, "before-setslot-node"},
    {MovePoint::AfterSetslotTarget, "after-setslot-target"},
};

}  // namespace

const char* movePointName(MovePoint point) {
  for (const auto& [p, name] : kMovePoints) {
    if (p == point) return name;
  }
  return "?";
}

std::optional<MovePoint> parseMovePoint(std::string_view name) {
  for (const auto& [p, n] : kMovePoints) {
    if (name == n) return p;
  }
  return std::nullopt;
}

std::vector<std::string> movePointNames() {
  std::vector<std::string> out;
  for (const auto& [p, name] : kMovePoints) out.emplace_back(name);
  return out;
}

void SlotMover::reached(MovePoint point, int slot) const {
  if (hooks_.at) hooks_.at(point, slot);
}

SlotMover::SlotMover(Nodes& nodes, Activity& activity, MoverOptions options)
    : nodes_(nodes),
      activity_(activity),
      options_(std::move(options)),
      batch_(std::max(1, options_.batch_keys)) {}

Status SlotMover::move(int slot, const Peer& src, const Peer& dst, Phase from) {
  if (from == Phase::Open) {
    if (auto opened = open(slot, src, dst); !opened) {
      // The target owns the slot already: an earlier attempt got as far as SETSLOT NODE on it.
      if (!contains(opened.error().message, "already the owner")) return opened;
      kLog.info("Target already owns the slot: finishing the move",
                {{"slot", slot}, {"from", src.id}, {"to", dst.id}});
    }
  }
  if (auto drained = drain(slot, src, dst); !drained) return drained;
  return close({slot}, src, dst);
}

Status SlotMover::setslot(const std::string& on, int slot, const std::string& how,
                          const std::string& id) {
  std::vector<std::string> args = {"CLUSTER", "SETSLOT", std::to_string(slot), how};
  if (!id.empty()) args.push_back(id);
  auto r = nodes_.command(on, args);
  if (!r) return r.error();
  return {};
}

Status SlotMover::open(int slot, const Peer& src, const Peer& dst) {
  kLog.debug("Opening the slot: target imports, then source migrates",
             {{"slot", slot}, {"from", src.id}, {"to", dst.id}});
  if (auto s = setslot(dst.id, slot, "IMPORTING", src.id); !s) return s;
  reached(MovePoint::AfterImporting, slot);
  if (auto s = setslot(src.id, slot, "MIGRATING", dst.id); !s) {
    // The source cannot hand the slot over (it does not own it): take back our own IMPORTING,
    // which holds no key yet, rather than leave an open slot behind.
    kLog.warn("Source refused MIGRATING; taking back the target's IMPORTING",
              {{"slot", slot}, {"from", src.id}, {"err", s.error().message}});
    (void)setslot(dst.id, slot, "STABLE", "");
    return s;
  }
  reached(MovePoint::AfterOpen, slot);
  return {};
}

Result<std::vector<std::string>> SlotMover::keysIn(int slot, const Peer& src) {
  auto r = nodes_.command(
      src.id, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(batch_)});
  if (!r) return r.error();
  if (r->type != redis::Reply::Type::Array) {
    return fail(Errc::Protocol, "CLUSTER GETKEYSINSLOT did not answer an array");
  }
  std::vector<std::string> keys;
  for (const auto& e : r->elements) keys.push_back(e.str);
  return keys;
}

std::vector<std::string> SlotMover::migrateCommand(const Peer& dst,
                                                   const std::vector<std::string>& keys,
                                                   int64_t timeout_ms, size_t& secret_index) const {
  std::vector<std::string> args = {"MIGRATE", dst.host, std::to_string(dst.port),
                                   "",        "0",      std::to_string(timeout_ms)};
  secret_index = 0;
  if (options_.password) {
    args.insert(args.end(), {"AUTH2", options_.user});
    secret_index = args.size();
    args.push_back(*options_.password);
  }
  args.emplace_back("KEYS");
  args.insert(args.end(), keys.begin(), keys.end());
  return args;
}

Status SlotMover::drain(int slot, const Peer& src, const Peer& dst) {
  batch_ = std::max(1, options_.batch_keys);
  int64_t timeout = options_.migrate_timeout_ms;
  int failures = 0;
  bool moved = false;
  for (;;) {
    auto keys = keysIn(slot, src);
    if (!keys) return keys.error();
    if (keys->empty()) return {};
    if (moved) reached(MovePoint::MidBatch, slot);
    size_t secret = 0;
    auto args = migrateCommand(dst, *keys, timeout, secret);
    redis::CommandOptions how;
    how.timeout_ms = timeout + 2000;  // MIGRATE's own timeout comes first, with its IOERR
    if (secret != 0) how.secret_args = {secret};
    auto r = nodes_.command(src.id, args, how);
    if (r) {
      bool none = r->type == redis::Reply::Type::Status && r->str == "NOKEY";
      int64_t n = none ? 0 : static_cast<int64_t>(keys->size());
      keys_moved_ += n;
      activity_.actions.add(Action::KeysMoved, n);
      failures = 0;
      moved = moved || n > 0;
      continue;
    }
    if (isBusyKey(r.error())) {
      if (auto s = settleBusyKeys(slot, src, dst, *keys); !s) return s;
      continue;
    }
    if (!isRetryable(r.error())) return r.error();
    activity_.errors.add(ErrorKind::MigrateRetried);
    if (keys->size() > 1) {
      batch_ = std::max(1, static_cast<int>(keys->size()) / 2);
      kLog.warn(
          "MIGRATE failed; retrying with a smaller batch (nothing is lost: the source "
          "keeps every key the target did not confirm)",
          {{"slot", slot}, {"batch", batch_}, {"err", r.error().message}});
      continue;
    }
    if (++failures > options_.retries) {
      return fail(r.error().code, fmt::format("MIGRATE of one key of slot {} failed {} times: {}",
                                              slot, failures, r.error().message));
    }
    timeout *= 2;
    kLog.warn("MIGRATE of one key failed (a big key?); retrying with a longer timeout",
              {{"slot", slot}, {"timeout_ms", timeout}, {"err", r.error().message}});
  }
}

Status SlotMover::settleBusyKeys(int slot, const Peer& src, const Peer& dst,
                                 const std::vector<std::string>& keys) {
  std::vector<std::vector<std::string>> dumps;
  for (const auto& k : keys) {
    dumps.push_back({"ASKING"});  // the target serves an importing slot's keys only after it
    dumps.push_back({"DUMP", k});
  }
  auto on_dst = nodes_.pipeline(dst.id, dumps, {});
  if (!on_dst) return on_dst.error();
  std::vector<std::string> differ;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& dump = (*on_dst)[2 * i + 1];
    if (!dump || dump->type != redis::Reply::Type::String) continue;  // not on the target
    auto r = nodes_.command(src.id, {"EVAL", kDropIfSame, "1", keys[i], dump->str});
    if (r && r->type == redis::Reply::Type::Integer && r->integer < 0) differ.push_back(keys[i]);
    if (r && r->type == redis::Reply::Type::Integer && r->integer == 1) {
      kLog.info("Key was on both sides with identical values: dropped the source's copy",
                {{"slot", slot}, {"key", keys[i]}});
    }
  }
  if (differ.empty()) return {};
  activity_.errors.add(ErrorKind::MigrateBusyKey, static_cast<int64_t>(differ.size()));
  return fail(Errc::Refused,
              fmt::format("slot {}: {} key(s) exist on both {} and {} with different values ({}); "
                          "the slot stays open and neither copy is touched: compare them, delete "
                          "the wrong copy by hand, then run the move again",
                          slot, differ.size(), src.id, dst.id, firstKeys(differ)));
}

Status SlotMover::setslots(const std::string& on, const std::vector<int>& slots,
                           const std::string& how, const std::string& id, bool tolerate_replica) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(slots.size());
  for (int slot : slots) commands.push_back({"CLUSTER", "SETSLOT", std::to_string(slot), how, id});
  auto replies = nodes_.pipeline(on, commands, {});
  if (!replies) return replies.error();
  for (size_t i = 0; i < replies->size(); ++i) {
    const auto& r = (*replies)[i];
    // An emptied master may have turned into a replica of the target already.
    if (!r && !(tolerate_replica && contains(r.error().message, "only with masters"))) {
      return fail(r.error().code, fmt::format("slot {}: {}", slots[i], r.error().message));
    }
  }
  return {};
}

Status SlotMover::close(const std::vector<int>& slots, const Peer& src, const Peer& dst) {
  kLog.debug("Slots drained: the target takes them first, then the source",
             {{"first_slot", slots.front()}, {"slots", slots.size()}, {"to", dst.id}});
  reached(MovePoint::BeforeSetslotNode, slots.front());
  if (auto s = takeOver(slots, dst); !s) return s;
  reached(MovePoint::AfterSetslotTarget, slots.front());
  if (auto s = setslots(src.id, slots, "NODE", dst.id, true); !s) {
    if (s.error().code != Errc::Transport || !gaveUp(slots, src)) return s;
    kLog.info(
        "The source closed the connection but holds none of the slots any more (Valkey "
        "drops its clients when a master whose last slot left turns into a replica)",
        {{"from", src.id}, {"to", dst.id}, {"slots", slots.size()}});
  }
  activity_.actions.add(Action::SlotMoved, static_cast<int64_t>(slots.size()));
  return {};
}

// SETSLOT NODE on a node importing the slot makes it bump its config epoch and broadcast a PONG
// to every node, each of which walks all 16384 slots to read it: per slot, that took a sixth of
// the machine's CPU while 4096 slots moved 3 -> 4 masters (bench/README.md "Slot moves"). So
// the target ends the IMPORTING of every slot of the batch but the last itself (STABLE, then
// NODE in the same pipeline: the slot keeps its old owner in between), after bumping its epoch
// once as NODE would have done for each slot: its claims must beat the source's, or the others
// would hand the slots back to the source with an UPDATE. The last slot's NODE takes Redis' own
// path, and its one broadcast carries the whole batch to every node, replicas included
// (docs/redis-facts.md, "Moving a slot").
Status SlotMover::takeOver(const std::vector<int>& slots, const Peer& dst) {
  if (replicatesSetslot(dst)) return setslots(dst.id, slots, "NODE", dst.id, false);
  std::vector<std::vector<std::string>> commands = {{"CLUSTER", "BUMPEPOCH"}};
  commands.reserve(2 * slots.size());
  std::vector<int> of = {-1};  // the slot of each command, for the error
  for (size_t i = 0; i < slots.size(); ++i) {
    const std::string slot = std::to_string(slots[i]);
    if (i + 1 < slots.size()) {
      commands.push_back({"CLUSTER", "SETSLOT", slot, "STABLE"});
      of.push_back(slots[i]);
    }
    commands.push_back({"CLUSTER", "SETSLOT", slot, "NODE", dst.id});
    of.push_back(slots[i]);
  }
  auto replies = nodes_.pipeline(dst.id, commands, {});
  if (!replies) return replies.error();
  for (size_t i = 0; i < replies->size(); ++i) {
    if (const auto& r = (*replies)[i]; !r) {
      const std::string what = i == 0 ? "BUMPEPOCH" : fmt::format("slot {}", of[i]);
      return fail(r.error().code, fmt::format("{}: {}", what, r.error().message));
    }
  }
  return {};
}

// Valkey 8 replicates SETSLOT to the node's replicas, and a STABLE sent there left a batch of
// IMPORTING markers on the target's replica (measured, 8.0.1): Valkey keeps Redis' own path.
bool SlotMover::replicatesSetslot(const Peer& dst) {
  auto known = valkey_.find(dst.id);
  if (known != valkey_.end()) return known->second;
  auto info = nodes_.command(dst.id, {"INFO", "server"});
  auto server = info ? redis::serverInfoFrom(redis::InfoFields::parse(info->str)) : std::nullopt;
  const bool valkey = !server || server->name == "valkey";
  valkey_[dst.id] = valkey;
  return valkey;
}

bool SlotMover::gaveUp(const std::vector<int>& slots, const Peer& src) {
  auto view = viewOf(nodes_, src);
  if (!view) return false;
  const auto& me = view->myself();
  if (me.isReplica()) return true;
  for (const auto& r : me.slots) {
    for (int slot : slots) {
      if (slot >= r.first && slot <= r.last) return false;
    }
  }
  return true;
}

void SlotMover::announce(const std::vector<int>& slots, const Peer& src, const Peer& dst,
                         const std::vector<std::string>& others) {
  // Chunks keep one node's pipeline (and the clients it keeps waiting) short.
  constexpr size_t kChunk = 512;
  for (const auto& id : others) {
    if (id == src.id || id == dst.id) continue;
    for (size_t at = 0; at < slots.size(); at += kChunk) {
      const auto end = std::min(at + kChunk, slots.size());
      const std::vector<int> chunk(slots.begin() + static_cast<long>(at),
                                   slots.begin() + static_cast<long>(end));
      if (auto s = setslots(id, chunk, "NODE", dst.id, true); !s) {
        kLog.warn("A master did not take the slots' new owner; it learns it by gossip",
                  {{"node", id}, {"err", s.error().message}});
        break;
      }
    }
  }
}

Status SlotMover::moveSlots(const std::vector<int>& slots, const Peer& src, const Peer& dst) {
  if (slots.empty()) return {};
  if (auto s = openMany(slots, src, dst); !s) return s;
  if (auto s = drainMany(slots, src, dst); !s) return s;
  return close(slots, src, dst);
}

// A refusal leaves the slots open (a slot the source does not own: the plan is stale); the
// next run repairs or refuses them with their owners in view.
Status SlotMover::openMany(const std::vector<int>& slots, const Peer& src, const Peer& dst) {
  if (auto s = setslots(dst.id, slots, "IMPORTING", src.id, false); !s) return s;
  reached(MovePoint::AfterImporting, slots.front());
  if (auto s = setslots(src.id, slots, "MIGRATING", dst.id, false); !s) return s;
  reached(MovePoint::AfterOpen, slots.front());
  return {};
}

// Rounds of one GETKEYSINSLOT per slot, then one MIGRATE per slot that has keys, each round in
// two pipelines. A slot that listed fewer keys than the batch is empty once they moved: a
// MIGRATING source creates no key of the slot (clients are sent on to the target), and the
// source's SETSLOT NODE refuses if one were left.
Status SlotMover::drainMany(const std::vector<int>& slots, const Peer& src, const Peer& dst) {
  batch_ = std::max(1, options_.batch_keys);
  std::vector<int> pending = slots;
  for (bool first = true; !pending.empty(); first = false) {
    std::vector<std::vector<std::string>> gets;
    gets.reserve(pending.size());
    for (int slot : pending) {
      gets.push_back({"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), std::to_string(batch_)});
    }
    auto listed = nodes_.pipeline(src.id, gets, {});
    if (!listed) return listed.error();
    std::vector<int> with_keys;
    std::vector<std::vector<std::string>> keys;
    for (size_t i = 0; i < pending.size(); ++i) {
      const auto& r = (*listed)[i];
      if (!r) return r.error();
      if (r->elements.empty()) continue;
      with_keys.push_back(pending[i]);
      keys.emplace_back();
      for (const auto& e : r->elements) keys.back().push_back(e.str);
    }
    if (!first && !with_keys.empty()) reached(MovePoint::MidBatch, with_keys.front());
    auto again = migrateMany(with_keys, keys, src, dst);
    if (!again) return again.error();
    pending = std::move(*again);
  }
  return {};
}

// One MIGRATE per slot, pipelined. Returns the slots that may hold more keys.
Result<std::vector<int>> SlotMover::migrateMany(const std::vector<int>& slots,
                                                const std::vector<std::vector<std::string>>& keys,
                                                const Peer& src, const Peer& dst) {
  if (slots.empty()) return std::vector<int>{};
  std::vector<std::vector<std::string>> commands;
  redis::CommandOptions how;
  for (const auto& k : keys) {
    size_t secret = 0;
    commands.push_back(migrateCommand(dst, k, options_.migrate_timeout_ms, secret));
    if (secret != 0) how.secret_args = {secret};
  }
  // The MIGRATEs run one after another on the source; each waits at most its own timeout.
  how.timeout_ms =
      options_.migrate_timeout_ms + 2000 + 100 * static_cast<int64_t>(kMigratesPerRound);
  auto replies = inRounds(nodes_, src.id, commands, keys, how);
  std::vector<int> more;
  for (size_t i = 0; i < slots.size(); ++i) {
    const int slot = slots[i];
    if (replies[i]) {
      const auto& r = *replies[i];
      bool none = r.type == redis::Reply::Type::Status && r.str == "NOKEY";
      int64_t n = none ? 0 : static_cast<int64_t>(keys[i].size());
      keys_moved_ += n;
      activity_.actions.add(Action::KeysMoved, n);
      if (static_cast<int>(keys[i].size()) >= batch_) more.push_back(slot);
      continue;
    }
    const Error& e = replies[i].error();
    if (isBusyKey(e)) {
      if (auto s = settleBusyKeys(slot, src, dst, keys[i]); !s) return s.error();
      more.push_back(slot);
    } else if (isRetryable(e)) {
      activity_.errors.add(ErrorKind::MigrateRetried);
      // On its own, with smaller batches and longer timeouts (a big key, a slow target).
      if (auto s = drain(slot, src, dst); !s) return s.error();
      batch_ = std::max(1, options_.batch_keys);
    } else {
      return fail(e.code, fmt::format("slot {}: {}", slot, e.message));
    }
  }
  return more;
}

}  // namespace agent::migrate
