// SPDX-License-Identifier: Apache-2.0
// TLS for Redis connections, on OpenSSL (Debian's libssl). hiredis 0.14 has no TLS; the
// connection layer runs hiredis' protocol reader over this instead. The only OpenSSL user.
//
// - The server's chain is always verified (against ca_file/ca_dir, or the system store when
//   neither is set). With server_name set, the certificate must also be valid for that name
//   (a DNS name, matched against the SANs, or an IP literal, matched against IP SANs).
// - One SSL_CTX per set of files, shared by every connection of the process. Each new connection
//   checks the files (a stat each); when one changed (a Secret volume swaps a symlink), a new
//   context is built and used from then on; open connections keep the one they started with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "redis/socket.h"

struct ssl_st;

namespace agent::redis {

struct TlsOptions {
  std::string ca_file{};    // PEM bundle of the CAs to trust
  std::string ca_dir{};     // or a directory of hashed CA certificates (openssl rehash)
  std::string cert_file{};  // client certificate chain (PEM), for tls-auth-clients yes/optional
  std::string key_file{};   // its private key (PEM)
  // When set, the server's certificate must be valid for this name or IP address.
  std::string server_name{};
  bool sni = false;  // send server_name as SNI (names only; never an IP literal)
  bool operator==(const TlsOptions&) const = default;
};

// What the process knows about the context for one set of files.
struct TlsContextState {
  uint64_t generation = 0;          // contexts built so far (1 after the first load)
  int64_t loaded_wall_ms = 0;       // when the current one was built
  int64_t cert_not_after_unix = 0;  // expiry of the client certificate (0: none)
  std::string error;                // why the last rebuild failed; empty when it did not
};
TlsContextState tlsContextState(const TlsOptions& options);
// Builds the context for `options` now (or again), e.g. when a watcher saw the files change.
// On failure the previous context stays in use.
Status reloadTlsContext(const TlsOptions& options);

// The earliest expiry (notAfter, Unix seconds) of the certificates in a PEM file: for a chain or
// a CA bundle, the first one to lapse is the one that breaks connections.
Result<int64_t> pemEarliestNotAfter(const std::string& path);

// One TLS connection over a connected, non-blocking socket.
class TlsSession final {
 public:
  // Builds or reuses the shared context and completes the handshake by the deadline.
  static Result<std::unique_ptr<TlsSession>> handshake(int fd, const TlsOptions& options,
                                                       int64_t deadline_ms,
                                                       const Canceller* cancel);
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  ~TlsSession();

  IoResult read(char* buf, size_t len);
  IoResult write(const char* buf, size_t len);

 private:
  struct SslFree {
    void operator()(ssl_st* ssl) const;
  };
  explicit TlsSession(std::unique_ptr<ssl_st, SslFree> ssl) : ssl_(std::move(ssl)) {}
  IoResult failed(int rc);

  // The SSL holds its own reference to the SSL_CTX it was made from, so a reload never pulls
  // the context from under an open connection.
  std::unique_ptr<ssl_st, SslFree> ssl_;
  bool clean_ = true;  // no fatal error: a close_notify may be sent on close
};

}  // namespace agent::redis
