// SPDX-License-Identifier: Apache-2.0
// Event counters by kind: what the agent did to the cluster (Action) and what went wrong
// (ErrorKind). Kinds are enums with one name table each, so a call site cannot misspell one and
// /metrics exports every kind from the start, at 0 (alerts and increase() see a series before
// its first event).
//
// Who touches them: the loop thread (creator, healer, node-timeout boost, watcher, local Redis),
// the control socket's thread (handover outcomes) and the HTTP I/O thread (refused connections)
// add; the loop thread copies them into each published StateView. Scrapes read that view, never
// the counters. Each kind is one relaxed atomic: counts are independent, so no lock and no
// ordering between kinds is needed.
#pragma once

#include <array>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agent {

enum class Action {
  Addslots,            // CLUSTER ADDSLOTSRANGE while creating
  Creation,            // a cluster created
  Failover,            // a handover, or a forced takeover of a gone master's slots
  FailoverForce,       // a handover that needed CLUSTER FAILOVER FORCE
  Forget,              // CLUSTER FORGET of a node that is gone
  KeysMoved,           // keys moved to another master by MIGRATE (counted per key)
  LayoutFailover,      // CLUSTER FAILOVER sent by the layout keeper (a master moved back)
  MasterauthSwitch,    // password rotation: masterauth set to the new password
  Meet,                // CLUSTER MEET
  NodeTimeoutRestore,  // the configured cluster-node-timeout put back on a master
  NodeTimeoutShorten,  // cluster-node-timeout shortened on a master while creating
  NodesConfRewrite,    // nodes.conf rewritten by prepare (read from its record)
  PasswordAdd,         // password rotation: the local node accepts the new password too
  PasswordDrop,        // password rotation: the local node accepts only the new password
  PasswordRestore,     // password rotation: a restarted node got the rotation's passwords back
  Replicate,           // CLUSTER REPLICATE
  SetConfigEpoch,      // CLUSTER SET-CONFIG-EPOCH while creating
  SlotMoved,           // a slot moved to another master (SETSLOT NODE sent to its new owner)
  SlotRepaired,        // a slot found open (MIGRATING/IMPORTING) by an earlier move, finished
  TlsReload,           // new certificate files loaded by the agent and its Redis (rotation)
  Count,               // not a kind: how many there are
};

enum class ErrorKind {
  CommandFailed,          // a cluster-changing command was refused or timed out
  ControlSocket,          // the control socket could not be opened
  ForeignNode,            // a node not provably of this cluster was refused (never met)
  HandoverClientInstall,  // the handover client could not be copied into the runtime dir
  HandoverFailed,         // a handover ended without switching roles
  HttpRefused,            // an HTTP connection closed by a listener limit (slow, big, too many)
  LayoutFailoverFailed,   // a layout keeper's CLUSTER FAILOVER was refused or did not switch
  MigrateBusyKey,         // a key on both sides of a slot move with different values (left open)
  MigrateFailed,          // a slot move stopped by an error; the slot stays open to be resumed
  MigrateRetried,         // a MIGRATE batch that timed out or failed with IOERR, sent again
  NodesConfWatch,         // the directory of nodes.conf cannot be watched
  OlderReplicaRefused,    // an action that would make an older node follow a newer master
  PasswordFile,           // the mounted password file cannot be read (or is empty)
  PasswordRotation,       // a rotation step failed, or a rotation cannot run (reason logged)
  RedisUnreachable,       // the local Redis stopped answering
  TlsReload,              // new certificate files were unusable or Redis refused them
  UnsupportedServer,      // the local Redis, or a pod to create from, is older than supported
  Count,                  // not a kind: how many there are
};

template <class Kind>
inline constexpr size_t kKindCount = static_cast<size_t>(Kind::Count);

// The one name table of each kind: the label value in /metrics (short snake_case), by enum value.
template <class Kind>
struct KindNames;

template <>
struct KindNames<Action> {
  static constexpr std::array<std::string_view, kKindCount<Action>> kNames = {
      "addslots",
      "creation",
      "failover",
      "failover_force",
      "forget",
      "keys_moved",
      "layout_failover",
      "masterauth_switch",
      "meet",
      "node_timeout_restore",
      "node_timeout_shorten",
      "nodes_conf_rewrite",
      "password_add",
      "password_drop",
      "password_restore",
      "replicate",
      "set_config_epoch",
      "slot_moved",
      "slot_repaired",
      "tls_reload",
  };
};

template <>
struct KindNames<ErrorKind> {
  static constexpr std::array<std::string_view, kKindCount<ErrorKind>> kNames = {
      "command_failed",          "control_socket",     "foreign_node",
      "handover_client_install", "handover_failed",    "http_refused",
      "layout_failover_failed",  "migrate_busy_key",   "migrate_failed",
      "migrate_retried",         "nodes_conf_watch",   "older_replica_refused",
      "password_file",           "password_rotation",  "redis_unreachable",
      "tls_reload_failed",       "unsupported_server",
  };
};

template <class Kind>
constexpr std::string_view kindName(Kind kind) {
  return KindNames<Kind>::kNames[static_cast<size_t>(kind)];
}

template <class Kind>
constexpr std::optional<Kind> kindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindCount<Kind>; ++i) {
    if (KindNames<Kind>::kNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

// A table shorter than its enum leaves empty names behind; this catches it at compile time.
template <class Kind>
constexpr bool everyKindNamed() {
  for (auto name : KindNames<Kind>::kNames) {
    if (name.empty()) return false;
  }
  return true;
}
static_assert(everyKindNamed<Action>(), "every Action needs a name in KindNames<Action>");
static_assert(everyKindNamed<ErrorKind>(), "every ErrorKind needs a name in KindNames<ErrorKind>");

// Every kind, in enum order.
template <class Kind>
constexpr std::array<Kind, kKindCount<Kind>> allKinds() {
  std::array<Kind, kKindCount<Kind>> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<Kind>(i);
  return out;
}

// The counts at one moment, one per kind (what a StateView carries).
template <class Kind>
struct CounterValues {
  std::array<int64_t, kKindCount<Kind>> counts{};
  int64_t& operator[](Kind kind) { return counts[static_cast<size_t>(kind)]; }
  int64_t operator[](Kind kind) const { return counts[static_cast<size_t>(kind)]; }
};

template <class Kind>
class Counters {
 public:
  void add(Kind kind, int64_t n = 1) {
    values_[static_cast<size_t>(kind)].fetch_add(n, std::memory_order_relaxed);
  }
  int64_t get(Kind kind) const {
    return values_[static_cast<size_t>(kind)].load(std::memory_order_relaxed);
  }
  CounterValues<Kind> values() const {
    CounterValues<Kind> out;
    for (Kind k : allKinds<Kind>()) out[k] = get(k);
    return out;
  }

 private:
  std::array<std::atomic<int64_t>, kKindCount<Kind>> values_{};
};

// What the agent did to the cluster, and what went wrong, by kind. One instance per process,
// owned by app::Agent and passed by reference to the parts that act.
struct Activity {
  Counters<Action> actions;
  Counters<ErrorKind> errors;
};

}  // namespace agent
