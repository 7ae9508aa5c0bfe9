// SPDX-License-Identifier: Apache-2.0
// Canceller: ends every exchange of the connections that share it, at once, from any thread.
// Each Connection waits for its socket with poll(); a cancelled Canceller makes its eventfd
// readable for good, so a blocked exchange returns within microseconds and every later one
// fails before it sends anything. cancel() is one write(2): safe in a signal handler too.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/unique_fd.h"

namespace agent::redis {

class Canceller final {
 public:
  // nullptr only when the process is out of file descriptors.
  static std::shared_ptr<Canceller> create() {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.isValid()) return nullptr;
    return std::shared_ptr<Canceller>(new Canceller(std::move(fd)));
  }
  void cancel() noexcept {
    cancelled_.store(true);
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_.get(), &one, sizeof one);
  }
  bool cancelled() const noexcept { return cancelled_.load(); }
  // Readable once cancel() was called; never read, so it stays readable.
  int fd() const noexcept { return fd_.get(); }

 private:
  explicit Canceller(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace agent::redis
