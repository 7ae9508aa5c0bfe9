// SPDX-License-Identifier: Apache-2.0
#include "fake_slots.h"

#include <fmt/format.h>

#include <algorithm>

#include "nodes_conf/nodes_conf.h"

namespace agent::testing {

namespace {

using redis::Reply;

Reply ok() {
  return {Reply::Type::Status, "OK", 0, {}};
}
Reply integer(int64_t n) {
  return {Reply::Type::Integer, "", n, {}};
}
Reply text(const std::string& s) {
  return {Reply::Type::String, s, 0, {}};
}
Reply nil() {
  return {};
}

std::string ranges(const std::set<int>& slots) {
  std::string out;
  auto it = slots.begin();
  while (it != slots.end()) {
    int first = *it;
    int last = first;
    while (std::next(it) != slots.end() && *std::next(it) == last + 1) last = *++it;
    ++it;
    out += first == last ? fmt::format(" {}", first) : fmt::format(" {}-{}", first, last);
  }
  return out;
}

int slotOfKey(const std::string& key) {
  // Keys are named "k<slot>-<i>".
  return std::stoi(key.substr(1, key.find('-') - 1));
}

// The slot map holding `key` on `n`, or null. Looked up by the slot in the key's name: a scan
// of every slot per key made the big rebalance cases take a minute under ASan.
std::map<std::string, std::string>* holder(SlotNode& n, const std::string& key) {
  auto slot = n.keys.find(slotOfKey(key));
  if (slot == n.keys.end() || slot->second.count(key) == 0) return nullptr;
  return &slot->second;
}

}  // namespace

std::string fakeDump(const std::string& value) {
  return "dump:" + value;
}

int SlotNode::keyCount() const {
  int n = 0;
  for (const auto& [slot, k] : keys) n += static_cast<int>(k.size());
  return n;
}

FakeSlots FakeSlots::split(int masters, int empty, int keys_per_slot) {
  FakeSlots f;
  for (int i = 0; i < masters + empty; ++i) {
    SlotNode n;
    n.id = std::string(40, "123456789abcdef"[i]);  // "1111...", "2222...": short in texts
    n.host = fmt::format("10.0.0.{}", i + 1);
    f.nodes.push_back(n);
  }
  for (int i = 0; i < masters; ++i) {
    int first = i * nodes_conf::kSlotCount / masters;
    int last = (i + 1) * nodes_conf::kSlotCount / masters - 1;
    auto& n = f.nodes[static_cast<size_t>(i)];
    for (int s = first; s <= last; ++s) {
      n.owned.insert(s);
      for (int k = 0; k < keys_per_slot; ++k) n.keys[s][fmt::format("k{}-{}", s, k)] = "v";
    }
  }
  return f;
}

std::string FakeSlots::Sent::text() const {
  auto brief = [](const std::string& word) {
    return word.size() == 40 && word == std::string(40, word[0]) ? word.substr(0, 1) : word;
  };
  std::string out = brief(id);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[0] == "MIGRATE" && args[i] == "KEYS") {
      return out + fmt::format(" KEYS({})", args.size() - i - 1);
    }
    out += " " + brief(args[i]);
  }
  return out;
}

std::vector<std::string> FakeSlots::texts(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& s : sent) {
    auto t = s.text();
    if (t.compare(2, prefix.size(), prefix) == 0) out.push_back(t);
  }
  return out;
}

SlotNode& FakeSlots::node(const std::string& id) {
  for (auto& n : nodes) {
    if (n.id == id) return n;
  }
  throw std::out_of_range("no node " + id);
}

std::vector<migrate::Peer> FakeSlots::peers() const {
  std::vector<migrate::Peer> out;
  for (const auto& n : nodes) out.push_back({n.id, n.host, n.port});
  return out;
}

std::string FakeSlots::owner(int slot) const {
  for (const auto& n : nodes) {
    if (n.owned.count(slot) != 0) return n.id;
  }
  return "";
}

int FakeSlots::openSlots() const {
  int n = 0;
  for (const auto& node : nodes)
    n += static_cast<int>(node.migrating.size() + node.importing.size());
  return n;
}

std::map<std::string, std::string> FakeSlots::allKeys() const {
  std::map<std::string, std::string> out;
  for (const auto& n : nodes) {
    for (const auto& [slot, keys] : n.keys) out.insert(keys.begin(), keys.end());
  }
  return out;
}

bool FakeSlots::keysOnOwners() const {
  for (const auto& n : nodes) {
    for (const auto& [slot, keys] : n.keys) {
      if (!keys.empty() && n.owned.count(slot) == 0) return false;
    }
  }
  return true;
}

std::string FakeSlots::clusterNodes(const SlotNode& me) const {
  std::string out;
  for (const auto& n : nodes) {
    if (me.hidden.count(n.id) != 0) continue;
    bool self = n.id == me.id;
    out += fmt::format("{} {}:{}@{} {}{} {} 0 0 1 connected{}", n.id, n.host, n.port,
                       n.port + 10000, self ? "myself," : "", n.master ? "master" : "slave",
                       n.replica_of.empty() ? "-" : n.replica_of, ranges(n.owned));
    if (self) {
      for (const auto& [s, to] : n.migrating) out += fmt::format(" [{}->-{}]", s, to);
      for (const auto& [s, from] : n.importing) out += fmt::format(" [{}-<-{}]", s, from);
    }
    out += "\n";
  }
  return out;
}

Result<std::vector<Result<redis::Reply>>> FakeSlots::pipeline(
    const std::string& id, const std::vector<std::vector<std::string>>& commands,
    const redis::CommandOptions& options) {
  std::vector<Result<Reply>> out;
  for (const auto& args : commands) {
    sent.push_back({id, args, options.secret_args, options.timeout_ms});
    if (before) {
      if (auto r = before(id, args)) {
        if (!*r && r->error().code != Errc::Server) return r->error();
        out.push_back(*r);
        continue;
      }
    }
    out.push_back(apply(node(id), args));
    if (lose_reply && lose_reply(id, args)) {
      return fail(Errc::Transport, "connection closed by the server");
    }
  }
  return out;
}

Result<redis::Reply> FakeSlots::apply(SlotNode& n, const std::vector<std::string>& args) {
  const auto& cmd = args.at(0);
  if (cmd == "ASKING") return ok();
  if (cmd == "MIGRATE") return migrate(n, args);
  if (cmd == "EVAL") return evalDropIfSame(n, args);
  if (cmd == "DUMP") {
    auto* keys = holder(n, args.at(1));
    return keys == nullptr ? nil() : text(fakeDump(keys->at(args[1])));
  }
  if (cmd == "CLUSTER" && args.at(1) == "NODES") return text(clusterNodes(n));
  if (cmd == "CLUSTER" && args.at(1) == "INFO") {
    return text(fmt::format("cluster_state:{}\r\n", n.state_ok ? "ok" : "fail"));
  }
  if (cmd == "CLUSTER" && args.at(1) == "SETSLOT") return setslot(n, args);
  if (cmd == "INFO" && args.size() > 1 && args[1] == "replication") {
    return text("# Replication\r\nrole:master\r\n" + n.replicas_info);
  }
  if (cmd == "INFO") {
    constexpr const char* kValkey =
        "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n";
    return text(n.valkey ? kValkey : "# Server\r\nredis_version:7.0.15\r\nserver_name:redis\r\n");
  }
  if (cmd == "CLUSTER" && args.at(1) == "BUMPEPOCH") {
    if (!n.master) return fail(Errc::Server, "ERR Please use BUMPEPOCH only with masters.");
    return Reply{Reply::Type::Status, "BUMPED 1", 0, {}};
  }
  if (cmd == "CLUSTER" && args.at(1) == "GETKEYSINSLOT") {
    Reply r{Reply::Type::Array, "", 0, {}};
    const auto& keys = n.keys[std::stoi(args.at(2))];
    for (const auto& [k, v] : keys) {
      if (static_cast<int>(r.elements.size()) == std::stoi(args.at(3))) break;
      r.elements.push_back(text(k));
    }
    return r;
  }
  return fail(Errc::Server, "ERR unknown command in the fake: " + cmd);
}

Result<redis::Reply> FakeSlots::setslot(SlotNode& n, const std::vector<std::string>& args) {
  int slot = std::stoi(args.at(2));
  const auto& how = args.at(3);
  if (!n.master) return fail(Errc::Server, "ERR Please use SETSLOT only with masters.");
  if (how == "STABLE") {
    n.migrating.erase(slot);
    n.importing.erase(slot);
  } else if (how == "IMPORTING") {
    if (n.owned.count(slot) != 0) {
      return fail(Errc::Server, fmt::format("ERR I'm already the owner of hash slot {}", slot));
    }
    n.importing[slot] = args.at(4);
  } else if (how == "MIGRATING") {
    if (n.owned.count(slot) == 0) {
      return fail(Errc::Server, fmt::format("ERR I'm not the owner of hash slot {}", slot));
    }
    n.migrating[slot] = args.at(4);
  } else if (how == "NODE") {
    const auto& to = args.at(4);
    if (to != n.id && n.owned.count(slot) != 0 && !n.keys[slot].empty()) {
      return fail(Errc::Server, fmt::format("ERR Can't assign hashslot {} to a different node "
                                            "while I still hold keys for this hash slot.",
                                            slot));
    }
    n.migrating.erase(slot);
    n.importing.erase(slot);
    // The fake keeps one truth of ownership: the new owner's claim wins everywhere.
    for (auto& other : nodes) other.owned.erase(slot);
    node(to).owned.insert(slot);
  }
  return ok();
}

Result<redis::Reply> FakeSlots::migrate(SlotNode& n, const std::vector<std::string>& args) {
  auto at = std::find(args.begin(), args.end(), "KEYS");
  auto auth = std::find(args.begin(), args.end(), "AUTH2");
  if (password && (auth == args.end() || *(auth + 2) != *password)) {
    return fail(Errc::Server, "ERR Target instance replied with error: NOAUTH");
  }
  auto dst = std::find_if(nodes.begin(), nodes.end(), [&](const SlotNode& d) {
    return d.host == args.at(1) && std::to_string(d.port) == args.at(2);
  });
  if (dst == nodes.end()) return fail(Errc::Server, "IOERR error or timeout connecting");
  bool busy = false;
  int moved = 0;
  for (auto k = at + 1; k != args.end(); ++k) {
    auto* keys = holder(n, *k);
    if (keys == nullptr) continue;
    auto& there = dst->keys[slotOfKey(*k)];
    if (there.count(*k) != 0) {
      busy = true;
      continue;
    }
    there[*k] = keys->at(*k);
    keys->erase(*k);
    ++moved;
  }
  if (busy) return fail(Errc::Server, "BUSYKEY Target key name already exists.");
  return moved == 0 ? Reply{Reply::Type::Status, "NOKEY", 0, {}} : ok();
}

Result<redis::Reply> FakeSlots::evalDropIfSame(SlotNode& n, const std::vector<std::string>& args) {
  const auto& key = args.at(3);
  auto* keys = holder(n, key);
  if (keys == nullptr) return integer(0);
  if (fakeDump(keys->at(key)) != args.at(4)) return integer(-1);
  keys->erase(key);
  return integer(1);
}

}  // namespace agent::testing
