// SPDX-License-Identifier: Apache-2.0
#include "migrate/nodes.h"

#include <fmt/format.h>

#include <utility>

namespace agent::migrate {

Result<redis::Reply> Nodes::command(const std::string& id, const std::vector<std::string>& args,
                                    const redis::CommandOptions& options) {
  auto replies = pipeline(id, {args}, options);
  if (!replies) return replies.error();
  if (replies->size() != 1) return fail(Errc::Protocol, "expected one reply");
  return std::move(replies->front());
}

Result<nodes_conf::NodesConf> viewOf(Nodes& nodes, const Peer& peer) {
  auto text = nodes.command(peer.id, {"CLUSTER", "NODES"});
  if (!text) return text.error();
  auto view = nodes_conf::parseClusterNodes(text->str);
  if (!view) return fail(Errc::Protocol, peer.id + ": " + view.error().message);
  const auto& me = view->myself();
  if (me.id != peer.id) {
    return fail(Errc::Refused, fmt::format("{}:{} runs node {}, not {}: the cluster changed "
                                           "meanwhile; run again",
                                           peer.host, peer.port, me.id, peer.id));
  }
  return view;
}

}  // namespace agent::migrate
