// SPDX-License-Identifier: Apache-2.0
// migrate::Nodes over real connections: one per master, opened on first use and opened again
// after a transport error or a timeout (a MIGRATE that outlived its deadline leaves the old
// connection unusable; the server finishes it before it reads the next command anyway).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "migrate/nodes.h"
#include "redis/connection.h"

namespace agent::migrate {

class Links final : public Nodes {
 public:
  Links(std::vector<Peer> peers, redis::ConnectOptions options);

  Result<std::vector<Result<redis::Reply>>> pipeline(
      const std::string& id, const std::vector<std::vector<std::string>>& commands,
      const redis::CommandOptions& options) override;
  std::unique_ptr<Nodes> another() override;

 private:
  Result<redis::Connection*> connection(const std::string& id);

  std::vector<Peer> peers_;
  redis::ConnectOptions options_;
  std::map<std::string, redis::Connection> open_;
};

}  // namespace agent::migrate
