// SPDX-License-Identifier: Apache-2.0
#include "cluster/attention.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/log.h"
#include "common/text.h"

namespace agent::cluster {

namespace {

const log::Logger kLog("attention");

// Why the local view says node `n` (the one confirmed for a pod) needs a look; "" when fine.
std::string viewReason(const nodes_conf::Node& n) {
  if (n.isNoaddr()) return "known as noaddr";
  if (n.isFailed()) return "flagged fail";
  if (n.isPfail()) return "flagged fail?";
  if (n.inHandshake()) return "in a handshake";
  if (!n.isConnected()) return "no link to its node";
  return {};
}

bool failing(const nodes_conf::Node& n) {
  return n.isFailed() || n.isPfail() || n.isNoaddr() || !n.isConnected();
}

// A node that knows no other node and owns no slot: not in any cluster.
bool alone(const Snapshot& s) {
  return s.nodes && s.nodes->nodes().size() <= 1 && s.slotsAssigned() == 0;
}

// Whether some peer's latest answer (of any round) shows a cluster being formed or formed.
bool clusterAmong(const std::vector<PeerProbe>& probes, int me) {
  return std::any_of(probes.begin(), probes.end(), [&](const PeerProbe& p) {
    return p.ordinal != me && p.snapshot && p.snapshot->nodes && !alone(*p.snapshot);
  });
}

}  // namespace

Attention::Attention(AttentionOptions options, Clock& clock)
    : options_(options),
      clock_(clock),
      rng_(options_.seed),
      seen_(static_cast<size_t>(std::max(0, options_.nodes))),
      dns_(static_cast<size_t>(std::max(0, options_.nodes))) {
  scheduleSweep(clock_.monotonicMs());
}

void Attention::scheduleSweep(int64_t now) {
  next_sweep_ms_ = now + jittered(options_.sweep_ms);
}

int64_t Attention::jittered(int64_t ms) {
  int64_t spread = ms / 5;
  std::uniform_int_distribution<int64_t> jitter(-spread, spread);
  return ms + jitter(rng_);
}

void Attention::lookAtEverything(const std::string& why) {
  full_look_ = why;
  full_look_since_ = clock_.monotonicMs();
  std::fill(seen_.begin(), seen_.end(), false);
  kLog.info("Looking at every pod", {{"reason", why}});
}

bool Attention::sweepDue() const {
  return clock_.monotonicMs() >= next_sweep_ms_;
}

void Attention::noteSweep(const std::vector<PeerProbe>& resolved) {
  for (const auto& p : resolved) {
    if (p.stale || p.ordinal < 0 || p.ordinal >= static_cast<int>(dns_.size())) continue;
    dns_[static_cast<size_t>(p.ordinal)] = {p.ip, true, false};
  }
  scheduleSweep(clock_.monotonicMs());
  if (options_.nodes > 1) {
    std::uniform_int_distribution<int> pick(0, options_.nodes - 2);
    int k = pick(rng_);
    sample_ = k >= options_.my_ordinal ? k + 1 : k;
  }
}

// The sweep's latest answer for pod k is not where its last look went (the name was wrong then and
// is fixed now, or it moved again): what that look found, e.g. an identity conflict, would
// otherwise stand until a random sample. "" when not.
std::string Attention::lookedElsewhere(int k, const std::vector<PeerProbe>& last) const {
  const Dns& dns = dns_[static_cast<size_t>(k)];
  auto idx = static_cast<size_t>(k);
  if (!dns.known || dns.checked || dns.ip.empty() || idx >= last.size()) return {};
  const std::string& looked = last[idx].ip;
  if (looked.empty() || looked == dns.ip) return {};
  return fmt::format("its name resolves to {}, its last look went to {}", dns.ip, looked);
}

std::map<int, std::string> Attention::podReasons(const Snapshot& local,
                                                 const nodes_conf::OrdinalMap& map,
                                                 const std::vector<PeerProbe>& last) const {
  std::map<int, std::string> out;
  const auto& view = *local.nodes;
  for (int k = 0; k < options_.nodes; ++k) {
    if (k == options_.my_ordinal) continue;
    auto id = map.idOf(k);
    const auto* n = id ? view.find(*id) : nullptr;
    const Dns& dns = dns_[static_cast<size_t>(k)];
    if (!id) {
      out[k] = "no node is known for this pod yet";
    } else if (!map.confirmed(*id)) {
      out[k] = "its node is not confirmed by its agent yet";
    } else if (n == nullptr) {
      out[k] = fmt::format("its node {} is unknown to this node", text::shortId(*id));
    } else if (std::string why = viewReason(*n); !why.empty()) {
      out[k] = why;
    } else if (dns.known && !dns.checked && !dns.ip.empty() && dns.ip != n->address.host) {
      out[k] = fmt::format("its name resolves to {}, this node knows it at '{}'", dns.ip,
                           n->address.host);
    } else if (std::string moved = lookedElsewhere(k, last); !moved.empty()) {
      out[k] = moved;
    } else if (k == sample_) {
      out[k] = "sampled by the sweep: does it still know this node?";
    }
  }
  // A failing master's replicas compare their offsets before one of them takes over.
  const auto* me = local.myself();
  const auto* master = me != nullptr && me->isReplica() ? view.find(me->master_id) : nullptr;
  if (master != nullptr && failing(*master)) {
    for (const auto& n : view.nodes()) {
      auto k = map.ordinalOf(n.id);
      if (n.isMyself() || n.master_id != master->id || !k || out.count(*k)) continue;
      out[*k] = "replicates the same failing master";
    }
  }
  return out;
}

std::string Attention::everyPodReason(const Snapshot& local,
                                      const nodes_conf::OrdinalMap& map) const {
  const auto& view = *local.nodes;
  if (view.nodes().size() <= 1) return "this node is not in a cluster yet";
  if (local.slotsAssigned() < nodes_conf::kSlotCount) {
    return "not every slot is assigned in this node's view";
  }
  for (const auto& n : view.nodes()) {
    auto retired = map.retiredEntry(n.id);
    if (retired && retired->confirmed) {
      return fmt::format("node {} was replaced in its pod and is still known", text::shortId(n.id));
    }
  }
  return {};
}

bool Attention::due(Watch& w, const std::string& reason, int64_t now, bool& fresh) {
  fresh = w.reason != reason;
  if (fresh) w = {reason, now, options_.fast_ms};
  if (now < w.next_ms) return false;
  w.next_ms = now + w.backoff_ms;
  w.backoff_ms = std::min(2 * w.backoff_ms, options_.max_backoff_ms);
  return true;
}

void Attention::lookAtAll(Focus& f) const {
  f.all = true;
  for (int k = 0; k < options_.nodes; ++k) {
    if (k != options_.my_ordinal) f.ordinals.push_back(k);
  }
}

// Whether this node waits to be met, as of this pass; logs when that changes.
bool Attention::updateWaiting(const Snapshot& local, const std::vector<PeerProbe>& last,
                              bool want_all, int64_t now) {
  bool was = waiting_;
  local_alone_ = alone(local);
  waiting_ =
      full_look_.empty() && !want_all && local_alone_ && !clusterAmong(last, options_.my_ordinal);
  if (waiting_ && !was) {
    pods_.clear();
    all_ = {};
    next_wait_ms_ = now + jittered(options_.waiting_ms);  // every pod was just looked at
    kLog.info("This node is empty and no peer is in a cluster: waiting to be met",
              {{"looksEveryMs", options_.waiting_ms}});
  } else if (was && !waiting_) {
    kLog.info("No longer waiting to be met",
              {{"reason", local_alone_ ? "a peer is in a cluster" : "this node met a peer"}});
  }
  return waiting_;
}

Focus Attention::plan(const Snapshot& local, const nodes_conf::OrdinalMap& map,
                      const std::vector<PeerProbe>& last, const std::string& want_all) {
  Focus f;
  if (!local.nodes || local.myself() == nullptr) return f;
  int64_t now = clock_.monotonicMs();
  if (updateWaiting(local, last, !want_all.empty(), now)) {
    if (now >= next_wait_ms_) {
      lookAtAll(f);
      next_wait_ms_ = now + jittered(options_.waiting_ms);
    }
    return f;
  }
  auto name = [&](int k) {
    return static_cast<size_t>(k) < last.size() ? last[static_cast<size_t>(k)].pod()
                                                : std::to_string(k);
  };
  std::string every = !full_look_.empty() ? full_look_
                      : !want_all.empty() ? want_all
                                          : everyPodReason(local, map);
  bool fresh = false;
  if (every.empty()) {
    all_ = {};
  } else if (!full_look_.empty() || due(all_, every, now, fresh)) {
    if (fresh) kLog.info("Looking at every pod", {{"reason", every}});
    lookAtAll(f);
  }
  auto reasons = podReasons(local, map, last);
  std::erase_if(pods_, [&](const auto& kv) { return reasons.count(kv.first) == 0; });
  for (const auto& [k, why] : reasons) {
    bool is_due = due(pods_[k], why, now, fresh);
    if (fresh) kLog.info("Looking at a pod", {{"pod", name(k)}, {"reason", why}});
    if (is_due && !f.all) f.ordinals.push_back(k);
  }
  return f;
}

void Attention::noteRound(const Focus& focus, const std::vector<PeerProbe>& probes) {
  for (int k : focus.ordinals) {
    auto idx = static_cast<size_t>(k);
    if (idx >= probes.size() || probes[idx].stale) continue;
    seen_[idx] = true;
    const auto& p = probes[idx];
    if (!p.ip.empty() || (p.error && p.error->code == Errc::NotFound)) {
      dns_[idx] = {p.ip, true, true};
    }
    if (k == sample_) sample_ = -1;
  }
  if (full_look_.empty()) return;
  bool all_seen = true;
  for (int k = 0; k < options_.nodes; ++k) {
    all_seen &= k == options_.my_ordinal || seen_[static_cast<size_t>(k)];
  }
  // An empty node that found no peer in a cluster has learnt what it can: it waits to be met.
  bool nothing_to_join = local_alone_ && !clusterAmong(probes, options_.my_ordinal);
  if (all_seen || nothing_to_join ||
      clock_.monotonicMs() - full_look_since_ >= options_.full_look_max_ms) {
    kLog.info("Looked at every pod; from now on only at pods that need it",
              {{"everyPodAnswered", all_seen}, {"noClusterYet", nothing_to_join}});
    full_look_.clear();
  }
}

int64_t Attention::msUntilDue() const {
  if (!full_look_.empty()) return 0;
  int64_t now = clock_.monotonicMs();
  int64_t next = next_sweep_ms_;
  if (waiting_) next = std::min(next, next_wait_ms_);
  if (!all_.reason.empty()) next = std::min(next, all_.next_ms);
  for (const auto& [k, w] : pods_) next = std::min(next, w.next_ms);
  return std::max<int64_t>(0, next - now);
}

}  // namespace agent::cluster
