// SPDX-License-Identifier: Apache-2.0
#include "app/local_redis.h"

#include "cluster/commands.h"
#include "common/log.h"
#include "common/text.h"
#include "redis/credentials.h"
#include "redis/info.h"

namespace agent::app {

namespace {

const log::Logger kLog("agent");

}  // namespace

LocalRedis::LocalRedis(redis::Endpoint endpoint, redis::ConnectOptions options, Activity& activity,
                       std::function<void()> on_connect)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      activity_(activity),
      on_connect_(std::move(on_connect)) {}

void LocalRedis::lost(const Error& err) {
  // An error reply (a command renamed away, say) repeats every pass: logged once per text.
  if (err.code == Errc::Server && err.message != error_) {
    kLog.warn("The local Redis answers with an error", {{"err", err.message}});
  }
  error_ = err.message;
  timed_out_ = err.code == Errc::Timeout;
  answered_ = err.code == Errc::Server;
  snapshot_.reset();
  if (was_up_) activity_.errors.add(ErrorKind::RedisUnreachable);
  was_up_ = false;
}

bool LocalRedis::observe() {
  if (conn_ && !conn_->healthy()) conn_.reset();
  if (!conn_) {
    auto conn = redis::connect(endpoint_, options_);
    if (!conn) {
      lost(conn.error());
      return false;
    }
    conn_.emplace(std::move(*conn));
    kLog.info("Connected to the local Redis", {{"address", endpoint_.str()}});
    on_connect_();
  }
  auto snap = cluster::takeSnapshot(*conn_, &nodes_cache_);
  if (!snap) {
    lost(snap.error());
    return false;
  }
  error_.clear();
  timed_out_ = false;
  answered_ = false;
  was_up_ = true;
  snapshot_ = std::move(*snap);
  return true;
}

bool LocalRedis::isMasterWithSlots() {
  if (!observe() || snapshot_->myself() == nullptr) return false;
  return snapshot_->myself()->isMaster() && !snapshot_->myself()->slots.empty();
}

std::optional<int64_t> LocalRedis::nodeTimeoutMs() {
  if (!conn_) return std::nullopt;
  return cluster::readNodeTimeout(*conn_);
}

void LocalRedis::describe(state::StateView& view) const {
  view.redis_reachable = snapshot_.has_value();
  view.redis_error = error_;
  view.redis_timed_out = timed_out_;
  view.redis_answered = answered_;
  view.local = snapshot_;
}

}  // namespace agent::app
