// SPDX-License-Identifier: Apache-2.0
// Grammar (docs/redis-facts.md, "nodes.conf and CLUSTER NODES lines"): one node per line,
//   <id> <host:port@cport[,hostname[,aux=v]...]> <flags> <master|-> <ping> <pong> <epoch> <link>
//   [<slot>|<a>-<b>|[<slot>->-<id>]|[<slot>-<-<id>]]...
// then "vars currentEpoch N lastVoteEpoch M". Redis 5.0-7.0 rewrite the file in place and pad it
// with newlines, so blank lines are legal and kept.
#include "nodes_conf/nodes_conf.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>

#include "common/host_port.h"
#include "common/text.h"

namespace agent::nodes_conf {

namespace {

// Every flag any supported version writes or accepts on load; Redis 7.0 crashes on others.
// "primary" and "replica" are Valkey 8 load-time synonyms (it still writes master/slave).
constexpr std::array<std::string_view, 11> kKnownFlags = {
    "myself", "master",     "slave",   "fail?",   "fail",   "handshake",
    "noaddr", "nofailover", "noflags", "primary", "replica"};

constexpr std::array<std::string_view, 6> kKnownAux = {"shard-id", "nodename",    "tcp-port",
                                                       "tls-port", "client-ipv4", "client-ipv6"};

struct Span {
  size_t begin;
  size_t end;
};

std::vector<Span> wordSpans(std::string_view s) {
  std::vector<Span> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t begin = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > begin) out.push_back({begin, i});
  }
  return out;
}

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

std::optional<int> parsePort(std::string_view s) {
  auto v = text::parseUint(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<int> parseSlot(std::string_view s) {
  auto v = text::parseUint(s);
  if (!v || *v >= static_cast<uint64_t>(kSlotCount)) return std::nullopt;
  return static_cast<int>(*v);
}

Error lineError(size_t line_no, const std::string& what) {
  return fail(Errc::Invalid, fmt::format("line {}: {}", line_no, what));
}

Result<Address> parseAddress(std::string_view field, std::vector<std::string>& warnings) {
  Address a;
  std::string_view host_part = field;
  if (size_t comma = field.find(','); comma != std::string_view::npos) {
    host_part = field.substr(0, comma);
    a.extra = std::string(field.substr(comma + 1));
    auto parts = text::split(*a.extra, ',');
    a.hostname = std::string(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      size_t eq = parts[i].find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return fail(Errc::Invalid,
                    fmt::format("malformed aux field '{}' in address '{}'", parts[i], field));
      }
      std::string key(parts[i].substr(0, eq));
      if (std::find(kKnownAux.begin(), kKnownAux.end(), key) == kKnownAux.end()) {
        warnings.push_back(fmt::format(
            "unknown aux field '{}' kept as it is (a server that does not know it refuses to load "
            "the file)",
            key));
      }
      a.aux.emplace_back(std::move(key), std::string(parts[i].substr(eq + 1)));
    }
  }
  std::string_view ip_port = host_part;
  if (size_t at = host_part.find('@'); at != std::string_view::npos) {
    ip_port = host_part.substr(0, at);
    a.bus_text = std::string(host_part.substr(at + 1));
    if (!parsePort(*a.bus_text)) {
      return fail(Errc::Invalid, fmt::format("bad bus port in address '{}'", field));
    }
  }
  // IPv6 hosts are written without brackets, so the port follows the last ':'.
  size_t colon = ip_port.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(Errc::Invalid, fmt::format("address '{}' has no port", field));
  }
  a.host = std::string(ip_port.substr(0, colon));
  a.port_text = std::string(ip_port.substr(colon + 1));
  if (!parsePort(a.port_text)) {
    return fail(Errc::Invalid, fmt::format("bad port in address '{}'", field));
  }
  return a;
}

Status parseSlotToken(std::string_view tok, Node& node) {
  if (tok.front() == '[') {
    if (tok.size() < 3 || tok.back() != ']') {
      return fail(Errc::Invalid, fmt::format("bad open-slot entry '{}'", tok));
    }
    std::string_view inner = tok.substr(1, tok.size() - 2);
    bool migrating = inner.find("->-") != std::string_view::npos;
    size_t sep = migrating ? inner.find("->-") : inner.find("-<-");
    if (sep == std::string_view::npos) {
      return fail(Errc::Invalid, fmt::format("bad open-slot entry '{}'", tok));
    }
    auto slot = parseSlot(inner.substr(0, sep));
    std::string_view id = inner.substr(sep + 3);
    if (!slot || !isValidNodeId(id)) {
      return fail(Errc::Invalid, fmt::format("bad open-slot entry '{}'", tok));
    }
    node.open_slots.push_back({*slot, migrating, std::string(id)});
    return {};
  }
  size_t dash = tok.find('-');
  auto first = parseSlot(tok.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : parseSlot(tok.substr(dash + 1));
  if (!first || !last || *first > *last) {
    return fail(Errc::Invalid, fmt::format("bad slot or slot range '{}'", tok));
  }
  node.slots.push_back({*first, *last});
  return {};
}

Status parseFlags(std::string_view field, Node& node) {
  for (std::string_view flag : text::split(field, ',')) {
    if (std::find(kKnownFlags.begin(), kKnownFlags.end(), flag) == kKnownFlags.end()) {
      return fail(Errc::Invalid,
                  fmt::format("unknown flag '{}' (Redis would crash loading this file)", flag));
    }
    node.flags.emplace_back(flag);
  }
  return {};
}

Result<Node> parseNodeWords(std::string_view line, const std::vector<Span>& spans,
                            std::vector<std::string>& warnings) {
  auto word = [&](size_t i) { return line.substr(spans[i].begin, spans[i].end - spans[i].begin); };
  if (spans.size() < 8) {
    return fail(Errc::Invalid, fmt::format("expected at least 8 fields, found {}", spans.size()));
  }
  Node node;
  node.id = std::string(word(0));
  if (!isValidNodeId(node.id)) {
    return fail(Errc::Invalid, fmt::format("'{}' is not a 40-character node ID", node.id));
  }
  auto address = parseAddress(word(1), warnings);
  if (!address) return address.error();
  node.address = std::move(*address);
  if (Status st = parseFlags(word(2), node); !st) return st.error();
  if (word(3) != "-") {
    if (!isValidNodeId(word(3))) {
      return fail(Errc::Invalid, fmt::format("'{}' is not a master node ID or '-'", word(3)));
    }
    node.master_id = std::string(word(3));
  }
  auto ping = text::parseUint(word(4));
  auto pong = text::parseUint(word(5));
  auto epoch = text::parseUint(word(6));
  if (!ping || !pong || !epoch) {
    return fail(Errc::Invalid, "ping-sent, pong-received and config-epoch must be numbers");
  }
  node.ping_sent = *ping;
  node.pong_received = *pong;
  node.config_epoch = *epoch;
  node.link_state = std::string(word(7));
  if (node.link_state != "connected" && node.link_state != "disconnected") {
    return fail(Errc::Invalid, fmt::format("unknown link state '{}'", node.link_state));
  }
  for (size_t i = 8; i < spans.size(); ++i) {
    if (Status st = parseSlotToken(word(i), node); !st) return st.error();
  }
  return node;
}

Result<Vars> parseVars(const std::vector<std::string_view>& words) {
  if (words.size() % 2 != 1) {
    return fail(Errc::Invalid, "the vars line needs name/value pairs");
  }
  Vars vars;
  for (size_t i = 1; i + 1 < words.size(); i += 2) {
    vars.values.emplace_back(std::string(words[i]), std::string(words[i + 1]));
  }
  return vars;
}

}  // namespace

std::optional<std::string> Address::auxValue(std::string_view key) const {
  for (const auto& [k, v] : aux) {
    if (k == key) return v;
  }
  return std::nullopt;
}

int Address::port() const {
  return parsePort(port_text).value_or(0);
}

int Address::busPort() const {
  if (bus_text) return parsePort(*bus_text).value_or(0);
  return port() + 10000;
}

std::string Address::render() const {
  std::string out = host + ":" + port_text;
  if (bus_text) out += "@" + *bus_text;
  if (extra) out += "," + *extra;
  return out;
}

std::string Address::endpoint() const {
  return joinHostPort(host, port_text);
}

bool Node::hasFlag(std::string_view flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

int Node::slotCount() const {
  int n = 0;
  for (const auto& r : slots) n += r.count();
  return n;
}

std::optional<uint64_t> Vars::get(std::string_view key) const {
  for (const auto& [k, v] : values) {
    if (k == key) return text::parseUint(v);
  }
  return std::nullopt;
}

bool isValidNodeId(std::string_view id) {
  return id.size() == 40 && std::all_of(id.begin(), id.end(), isHex);
}

Result<Node> parseNodeLine(std::string_view line) {
  std::vector<std::string> warnings;
  return parseNodeWords(line, wordSpans(line), warnings);
}

const Node* NodesConf::find(std::string_view id) const {
  for (const auto& n : nodes_) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

void NodesConf::setHost(size_t index, std::string host) {
  if (nodes_[index].address.host == host) return;
  nodes_[index].address.host = std::move(host);
  for (auto& line : lines_) {
    if (line.node == index) line.dirty = true;
  }
}

void NodesConf::setAux(size_t index, const std::string& key, const std::string& value) {
  Address& a = nodes_[index].address;
  auto it =
      std::find_if(a.aux.begin(), a.aux.end(), [&](const auto& kv) { return kv.first == key; });
  if (it != a.aux.end()) {
    it->second = value;
  } else {
    a.aux.emplace_back(key, value);
  }
  // `extra` is the hostname and the aux fields joined by ',' (parseAddress), so rebuilding it
  // from them changes nothing but this value.
  std::string extra = a.hostname;
  for (const auto& [k, v] : a.aux) {
    extra.append(",").append(k).append("=").append(v);
  }
  a.extra = std::move(extra);
  for (auto& line : lines_) {
    if (line.node == index) line.dirty = true;
  }
}

std::vector<ShardIdRepair> NodesConf::adoptPrimaryShardIds() {
  std::vector<ShardIdRepair> repairs;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (n.master_id.empty()) continue;
    const Node* primary = find(n.master_id);
    if (primary == nullptr) continue;
    auto want = primary->address.auxValue("shard-id");
    auto have = n.address.auxValue("shard-id");
    if (!want || have == want) continue;
    repairs.push_back({n.id, have, n.master_id, *want});
    setAux(i, "shard-id", *want);
  }
  return repairs;
}

std::string NodesConf::render() const {
  std::string out;
  size_t size = 0;
  for (const Line& line : lines_) size += line.raw.size() + 1;
  out.reserve(size);
  for (size_t i = 0; i < lines_.size(); ++i) {
    const Line& line = lines_[i];
    if (line.dirty) {
      out += line.raw.substr(0, line.addr_begin);
      out += nodes_[*line.node].address.render();
      out += line.raw.substr(line.addr_end);
    } else {
      out += line.raw;
    }
    if (i + 1 < lines_.size() || trailing_newline_) out += '\n';
  }
  return out;
}

// One pass over the lines without a copy of them all: a run of blank lines is kept as one
// entry (Redis up to 7.0 pads the file with newlines to its old size, so a file can be mostly
// blank), which keeps memory at about the size of the text.
Result<NodesConf> NodesConf::parseText(std::string_view text, bool is_file) {
  NodesConf conf;
  if (text::trim(text).empty()) {
    return fail(Errc::Invalid, "the file is empty (Redis would start as a new node with a new ID)");
  }
  conf.trailing_newline_ = text.back() == '\n';
  if (conf.trailing_newline_) text.remove_suffix(1);
  std::optional<size_t> myself;
  size_t line_no = 0;
  for (size_t begin = 0; begin <= text.size();) {
    size_t end = std::min(text.find('\n', begin), text.size());
    std::string_view raw = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_no;
    if (Status st = conf.addLine(raw, line_no, is_file, myself); !st) return st.error();
  }
  if (!myself) {
    return fail(
        Errc::Invalid,
        fmt::format("line {}: no 'myself' line in the file (Redis refuses to load it)", line_no));
  }
  conf.myself_index_ = *myself;
  return conf;
}

Status NodesConf::addLine(std::string_view raw, size_t line_no, bool is_file,
                          std::optional<size_t>& myself) {
  std::vector<Span> spans = wordSpans(raw);
  if (spans.empty()) {
    if (!lines_.empty() && lines_.back().blank) {
      lines_.back().raw += '\n';
      lines_.back().raw += raw;
    } else {
      lines_.push_back({std::string(raw), std::nullopt, 0, 0, false, true});
    }
    return {};
  }
  Line line{std::string(raw), std::nullopt, 0, 0, false, false};
  if (raw.substr(spans[0].begin, spans[0].end - spans[0].begin) == "vars") {
    if (!is_file) return lineError(line_no, "unexpected vars line in CLUSTER NODES output");
    if (has_vars_) return lineError(line_no, "second vars line");
    auto vars = parseVars(text::splitWords(raw));
    if (!vars) return lineError(line_no, vars.error().message);
    vars_ = std::move(*vars);
    has_vars_ = true;
    lines_.push_back(std::move(line));
    return {};
  }
  auto node = parseNodeWords(raw, spans, warnings_);
  if (!node) return lineError(line_no, node.error().message);
  if (find(node->id) != nullptr) {
    return lineError(line_no, fmt::format("node {} appears twice", node->id));
  }
  if (node->isMyself()) {
    if (myself) return lineError(line_no, "second 'myself' line");
    myself = nodes_.size();
  }
  line.node = nodes_.size();
  line.addr_begin = spans[1].begin;
  line.addr_end = spans[1].end;
  nodes_.push_back(std::move(*node));
  lines_.push_back(std::move(line));
  return {};
}

Result<NodesConf> parse(std::string_view text) {
  return NodesConf::parseText(text, true);
}

Result<NodesConf> parseClusterNodes(std::string_view text) {
  return NodesConf::parseText(text, false);
}

}  // namespace agent::nodes_conf
