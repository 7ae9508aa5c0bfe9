// SPDX-License-Identifier: Apache-2.0
#include "redis/credentials.h"

#include <algorithm>

namespace agent::redis {

Credentials::Credentials(std::optional<std::string> password) {
  if (password) set({std::move(*password)});
}

std::vector<std::string> Credentials::candidates() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out = passwords_;
  auto good = std::find(out.begin(), out.end(), last_good_);
  if (good != out.end()) std::rotate(out.begin(), good, good + 1);
  return out;
}

void Credentials::set(std::vector<std::string> passwords) {
  std::vector<std::string> unique;
  for (auto& p : passwords) {
    if (!p.empty() && std::find(unique.begin(), unique.end(), p) == unique.end()) {
      unique.push_back(std::move(p));
    }
  }
  std::lock_guard lock(mu_);
  passwords_ = std::move(unique);
}

void Credentials::worked(const std::string& password) const {
  std::lock_guard lock(mu_);
  last_good_ = password;
}

bool Credentials::empty() const {
  std::lock_guard lock(mu_);
  return passwords_.empty();
}

// Anywhere in the text, not only at its start: Connection::open wraps the server's refusal in a
// message that says which setting to compare.
bool isPasswordRefused(const Error& e) {
  return e.code == Errc::Server && (e.message.find("WRONGPASS") != std::string::npos ||
                                    e.message.find("invalid password") != std::string::npos);
}

Result<Connection> openWith(const Endpoint& endpoint, ConnectOptions options,
                            const Credentials* credentials) {
  options.credentials.reset();
  if (credentials == nullptr) return Connection::open(endpoint, options);
  auto candidates = credentials->candidates();
  if (candidates.empty()) {
    options.password.reset();
    return Connection::open(endpoint, options);
  }
  std::optional<Error> refused;
  for (auto& password : candidates) {
    options.password = password;
    auto conn = Connection::open(endpoint, options);
    if (conn) {
      credentials->worked(password);
      return conn;
    }
    if (!isPasswordRefused(conn.error())) return conn.error();
    refused = conn.error();
  }
  return *refused;
}

Result<Connection> connect(const Endpoint& endpoint, const ConnectOptions& options) {
  return openWith(endpoint, options, options.credentials.get());
}

}  // namespace agent::redis
