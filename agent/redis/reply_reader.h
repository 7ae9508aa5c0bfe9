// SPDX-License-Identifier: Apache-2.0
// Reading RESP2 replies from an untrusted peer with bounded memory. Two stages:
// - ReplyGuard scans every header ("*N", "$N", simple lines) before anything is parsed and
//   refuses a reply that would exceed the limits, as soon as the header says so: "*2000000000"
//   or "$100000000" are refused after a dozen bytes, before any allocation.
// - hiredis' redisReader then parses the bytes the guard let through, with object functions of
//   our own, so the tree is built directly as Reply values (no copy of a redisReply tree).
// hiredis 0.14 alone has no limit on arrays (it callocs the element vector from the header) or
// on bulk strings (it buffers until the whole bulk arrived), and nests at most 7 deep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct redisReader;

namespace agent::redis {

struct Reply {
  // Error: only inside an array (a top-level error reply is Errc::Server).
  enum class Type { String, Status, Integer, Nil, Array, Error };
  Type type = Type::Nil;
  std::string str;
  int64_t integer = 0;
  std::vector<Reply> elements;
};

// Caps on one reply. Defaults: a CLUSTER NODES reply for 1000 nodes is ~200 KB and INFO ~5 KB,
// so 4 MiB leaves 20x headroom; the worst case of a hostile peer stays at ~4 MiB of buffered
// bytes plus max_elements Reply values (~80 bytes each, ~10 MiB) per connection.
struct ReplyLimits {
  size_t max_bytes = size_t{4} << 20;       // the whole reply as it comes over the wire
  size_t max_bulk_bytes = size_t{4} << 20;  // one bulk string
  size_t max_elements = size_t{1} << 17;    // array elements, summed over every level
  size_t max_depth = 6;                     // nested arrays (CLUSTER SLOTS/SHARDS need 4)
};

// Scans the byte stream of replies and fails at the first header beyond a limit. Knows where
// each reply ends; it does not build anything.
class ReplyGuard {
 public:
  explicit ReplyGuard(ReplyLimits limits = {}) : limits_(limits) {}
  // Only between replies (atBoundary()).
  void setLimits(const ReplyLimits& limits) { limits_ = limits; }
  Status scan(std::string_view bytes);
  bool atBoundary() const { return open_.empty() && bulk_left_ == 0 && line_.empty(); }
  size_t completed() const { return completed_; }
  // Bytes of the reply being read so far (for messages on a timeout).
  size_t partialBytes() const { return reply_bytes_; }

 private:
  size_t skipBulk(std::string_view bytes);
  Result<size_t> readLine(std::string_view bytes);
  Status header(std::string_view line);
  Status bulkHeader(int64_t len);
  Status arrayHeader(int64_t count);
  Status countBytes(size_t n);
  void itemDone();

  ReplyLimits limits_;
  std::vector<int64_t> open_;  // elements still to come, per open array
  std::string line_;           // the header line read so far
  uint64_t bulk_left_ = 0;     // payload + CRLF of the current bulk still to come
  size_t reply_bytes_ = 0;
  size_t reply_elements_ = 0;
  size_t completed_ = 0;
};

// A parsed top-level reply: an error reply keeps its text apart from a value.
struct ParsedReply {
  Reply value;
  bool is_error = false;  // "-ERR ...": the text is in value.str
};

// The guard and hiredis' reader, for one connection's stream of replies.
class ReplyReader {
 public:
  ReplyReader();
  ReplyReader(ReplyReader&&) noexcept;
  ReplyReader& operator=(ReplyReader&&) noexcept;
  ~ReplyReader();

  void setLimits(const ReplyLimits& limits) { guard_.setLimits(limits); }
  // Errc::Protocol when a limit is exceeded or the bytes are not RESP.
  Status feed(std::string_view bytes);
  // The next complete reply, if one is there.
  Result<std::optional<ParsedReply>> next();
  bool idle() const { return guard_.atBoundary() && buffered_ == 0; }
  size_t partialBytes() const { return guard_.partialBytes(); }

 private:
  struct ReaderFree {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, ReaderFree> reader_;
  ReplyGuard guard_;
  size_t buffered_ = 0;  // replies the guard saw complete that next() has not returned yet
};

}  // namespace agent::redis
