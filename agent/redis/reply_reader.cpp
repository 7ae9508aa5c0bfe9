// SPDX-License-Identifier: Apache-2.0
#include "redis/reply_reader.h"

#include <hiredis/hiredis.h>

#include <fmt/format.h>
#include <algorithm>
#include <limits>
#include <new>

#include "common/text.h"

namespace agent::redis {

namespace {

// "+OK", "-ERR ..." and ":N" lines. Redis' longest error texts are a few hundred bytes.
constexpr size_t kMaxLineBytes = size_t{64} << 10;
// The reader's buffer kept between replies (see the constructor).
constexpr size_t kKeptBufferBytes = size_t{512} << 10;
// The shortest element ("+\r\n"): an array of N elements needs at least 3N more bytes.
constexpr size_t kMinElementBytes = 3;

Error refused(std::string what) {
  return fail(Errc::Protocol, "reply refused: " + what);
}

}  // namespace

// ----- ReplyGuard -----

Status ReplyGuard::scan(std::string_view bytes) {
  while (!bytes.empty()) {
    if (bulk_left_ > 0) {
      size_t n = skipBulk(bytes);
      bytes.remove_prefix(n);
      if (Status st = countBytes(n); !st) return st;
      continue;
    }
    auto used = readLine(bytes);
    if (!used) return used.error();
    bytes.remove_prefix(*used);
  }
  return {};
}

size_t ReplyGuard::skipBulk(std::string_view bytes) {
  size_t n = static_cast<size_t>(std::min<uint64_t>(bulk_left_, bytes.size()));
  bulk_left_ -= n;
  if (bulk_left_ == 0) itemDone();
  return n;
}

// Collects one header line; handles it once its "\r\n" is there. Returns the bytes used.
Result<size_t> ReplyGuard::readLine(std::string_view bytes) {
  size_t nl = bytes.find('\n');
  size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
  if (size_t cap = std::min(kMaxLineBytes, limits_.max_bytes); line_.size() + take > cap) {
    return refused(fmt::format("a line longer than {} bytes", cap));
  }
  line_.append(bytes.substr(0, take));
  if (Status st = countBytes(take); !st) return st.error();
  if (nl == std::string_view::npos) return take;
  if (line_.size() < 3 || line_[line_.size() - 2] != '\r') {
    return fail(Errc::Protocol, "malformed reply: a line without \\r\\n");
  }
  std::string line = std::move(line_);
  line_.clear();
  if (Status st = header(std::string_view(line).substr(0, line.size() - 2)); !st) {
    return st.error();
  }
  return take;
}

Status ReplyGuard::header(std::string_view line) {
  char type = line.front();
  std::string_view body = line.substr(1);
  if (type == '+' || type == '-') {
    itemDone();
    return {};
  }
  auto number = text::parseInt(body);
  if (type != ':' && type != '$' && type != '*') {
    return fail(Errc::Protocol, fmt::format("malformed reply: unexpected byte 0x{:02x}",
                                            static_cast<uint8_t>(type)));
  }
  if (!number)
    return fail(Errc::Protocol,
                fmt::format("malformed reply: bad number in '{}'", line.substr(0, 24)));
  if (type == ':') {
    itemDone();
    return {};
  }
  return type == '$' ? bulkHeader(*number) : arrayHeader(*number);
}

Status ReplyGuard::bulkHeader(int64_t len) {
  if (len == -1) {
    itemDone();
    return {};
  }
  if (len < 0) return fail(Errc::Protocol, fmt::format("malformed reply: bulk length {}", len));
  auto n = static_cast<uint64_t>(len);
  if (n > limits_.max_bulk_bytes) {
    return refused(fmt::format("a bulk string of {} bytes exceeds the limit of {} bytes", n,
                               limits_.max_bulk_bytes));
  }
  if (n + 2 > limits_.max_bytes - reply_bytes_) {
    return refused(fmt::format("a bulk string of {} bytes would exceed the reply limit of {} bytes",
                               n, limits_.max_bytes));
  }
  bulk_left_ = n + 2;
  return {};
}

Status ReplyGuard::arrayHeader(int64_t count) {
  if (count == -1 || count == 0) {
    itemDone();
    return {};
  }
  if (count < 0) return fail(Errc::Protocol, fmt::format("malformed reply: array of {}", count));
  auto n = static_cast<uint64_t>(count);
  if (open_.size() + 1 > limits_.max_depth) {
    return refused(fmt::format("arrays nested deeper than {} levels", limits_.max_depth));
  }
  if (n > limits_.max_elements - reply_elements_) {
    return refused(fmt::format("an array of {} elements exceeds the limit of {} elements", n,
                               limits_.max_elements));
  }
  if (n > (limits_.max_bytes - reply_bytes_) / kMinElementBytes) {
    return refused(fmt::format("an array of {} elements cannot fit the reply limit of {} bytes", n,
                               limits_.max_bytes));
  }
  reply_elements_ += n;
  open_.push_back(count);
  return {};
}

Status ReplyGuard::countBytes(size_t n) {
  reply_bytes_ += n;
  if (reply_bytes_ > limits_.max_bytes) {
    return refused(fmt::format("larger than the limit of {} bytes", limits_.max_bytes));
  }
  return {};
}

// One element (or a whole top-level reply) is complete: close every array it completes.
void ReplyGuard::itemDone() {
  while (!open_.empty()) {
    if (--open_.back() > 0) return;
    open_.pop_back();
  }
  ++completed_;
  reply_bytes_ = 0;
  reply_elements_ = 0;
}

// ----- hiredis object functions: the tree is built as Reply values -----

namespace {

// hiredis creates the children of an array in order (task->idx 0, 1, ...), depth first, so
// appending keeps every array that is still being filled at a stable address: only the
// innermost open array grows, and its earlier elements are never looked at again by hiredis.
// The root is heap-allocated and owns the tree; hiredis frees only roots (freeObject).
void* place(const redisReadTask* task, Reply&& value) noexcept {
  try {
    if (task->parent == nullptr) return new Reply(std::move(value));
    auto* parent = static_cast<Reply*>(task->parent->obj);
    if (parent == nullptr || parent->type != Reply::Type::Array) return nullptr;
    parent->elements.push_back(std::move(value));
    return &parent->elements.back();
  } catch (const std::bad_alloc&) {
    return nullptr;  // hiredis reports "Out of memory"
  }
}

void* createString(const redisReadTask* task, char* str, size_t len) {
  Reply r;
  r.type = task->type == REDIS_REPLY_ERROR    ? Reply::Type::Error
           : task->type == REDIS_REPLY_STATUS ? Reply::Type::Status
                                              : Reply::Type::String;
  try {
    r.str.assign(str, len);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  return place(task, std::move(r));
}

// The guard has checked `elements` against the limits; reserve little, the data may never come.
void* createArray(const redisReadTask* task, int elements) {
  constexpr int kReserve = 64;
  Reply r;
  r.type = Reply::Type::Array;
  try {
    r.elements.reserve(static_cast<size_t>(std::clamp(elements, 0, kReserve)));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  return place(task, std::move(r));
}

void* createInteger(const redisReadTask* task, long long value) {  // NOLINT(google-runtime-int)
  Reply r;
  r.type = Reply::Type::Integer;
  r.integer = static_cast<int64_t>(value);
  return place(task, std::move(r));
}

void* createNil(const redisReadTask* task) {
  return place(task, Reply{});
}

void freeObject(void* obj) {
  delete static_cast<Reply*>(obj);
}

redisReplyObjectFunctions kReplyFunctions = {createString, createArray, createInteger, createNil,
                                             freeObject};

}  // namespace

// ----- ReplyReader -----

void ReplyReader::ReaderFree::operator()(redisReader* r) const {
  redisReaderFree(r);
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  // hiredis frees its buffer whenever it is empty and more than maxbuf (16 KiB) is allocated,
  // so every reply above that size grew a new one, page faults included, pass after pass. A
  // CLUSTER NODES of a large cluster fits in what is kept now; bigger buffers still go.
  if (reader_) reader_->maxbuf = kKeptBufferBytes;
}
ReplyReader::ReplyReader(ReplyReader&&) noexcept = default;
ReplyReader& ReplyReader::operator=(ReplyReader&&) noexcept = default;
ReplyReader::~ReplyReader() = default;

Status ReplyReader::feed(std::string_view bytes) {
  if (!reader_) return fail(Errc::Protocol, "out of memory for the reply reader");
  size_t before = guard_.completed();
  if (Status st = guard_.scan(bytes); !st) return st;
  buffered_ += guard_.completed() - before;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    return fail(Errc::Protocol, fmt::format("reply reader: {}", reader_->errstr));
  }
  return {};
}

Result<std::optional<ParsedReply>> ReplyReader::next() {
  if (buffered_ == 0) return std::optional<ParsedReply>{};
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    return fail(Errc::Protocol, fmt::format("reply reader: {}", reader_->errstr));
  }
  std::unique_ptr<Reply> reply(static_cast<Reply*>(raw));
  if (!reply) return fail(Errc::Protocol, "reply reader: the guard and hiredis disagree");
  --buffered_;
  ParsedReply out;
  out.is_error = reply->type == Reply::Type::Error;
  if (out.is_error) reply->type = Reply::Type::String;
  out.value = std::move(*reply);
  return std::optional<ParsedReply>(std::move(out));
}

}  // namespace agent::redis
