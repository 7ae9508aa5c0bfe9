// SPDX-License-Identifier: Apache-2.0
#include "redis/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/stat.h>

#include <fmt/format.h>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace agent::redis {

namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;

// OpenSSL's reason for the oldest error on this thread's queue; the queue is emptied.
std::string opensslReason() {
  unsigned long first = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (first == 0) return "unknown error";
  if (const char* reason = ERR_reason_error_string(first)) return reason;
  std::array<char, 256> buf{};
  ERR_error_string_n(first, buf.data(), buf.size());
  return buf.data();
}

bool isIpLiteral(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(AF_INET, name.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf.data()) == 1;
}

// A file must be readable before OpenSSL gets it: its own message for a missing file is vague.
Status checkReadable(const std::string& what, const std::string& path) {
  if (path.empty() || ::access(path.c_str(), R_OK) == 0) return {};
  return fail(Errc::Invalid, fmt::format("TLS {} {}: {}", what, path, std::strerror(errno)));
}

Status loadTrust(SSL_CTX* ctx, const TlsOptions& o) {
  if (o.ca_file.empty() && o.ca_dir.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) == 1) return {};
    return fail(Errc::Invalid, "TLS: cannot load the system's CA store: " + opensslReason());
  }
  if (Status st = checkReadable("CA file", o.ca_file); !st) return st;
  if (Status st = checkReadable("CA directory", o.ca_dir); !st) return st;
  if (SSL_CTX_load_verify_locations(ctx, o.ca_file.empty() ? nullptr : o.ca_file.c_str(),
                                    o.ca_dir.empty() ? nullptr : o.ca_dir.c_str()) != 1) {
    return fail(Errc::Invalid, fmt::format("TLS: cannot load the CA certificates ({}{}): {}",
                                           o.ca_file, o.ca_dir, opensslReason()));
  }
  return {};
}

Status loadClientCert(SSL_CTX* ctx, const TlsOptions& o) {
  if (o.cert_file.empty() && o.key_file.empty()) return {};
  if (o.cert_file.empty() || o.key_file.empty()) {
    return fail(Errc::Invalid, "TLS: a client certificate needs both the certificate and the key");
  }
  if (Status st = checkReadable("certificate", o.cert_file); !st) return st;
  if (Status st = checkReadable("key", o.key_file); !st) return st;
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
    return fail(Errc::Invalid, fmt::format("TLS: cannot load the certificate {}: {}", o.cert_file,
                                           opensslReason()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return fail(Errc::Invalid, fmt::format("TLS: cannot use the key {} with the certificate {}: {}",
                                           o.key_file, o.cert_file, opensslReason()));
  }
  return {};
}

Result<CtxPtr> buildContext(const TlsOptions& o) {
  ERR_clear_error();
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail(Errc::Invalid, "TLS: cannot create a context: " + opensslReason());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Writes resume from wherever a WANT_WRITE left them; the buffer may move between calls.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (Status st = loadTrust(ctx.get(), o); !st) return st.error();
  if (Status st = loadClientCert(ctx.get(), o); !st) return st.error();
  return ctx;
}

int64_t notAfter(const X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t certNotAfter(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  return cert == nullptr ? 0 : notAfter(cert);
}

// ----- the shared contexts, one per set of files -----

// What identifies a version of a file: a Secret volume update swaps the target of a symlink,
// which changes the inode; an edit in place changes the size or mtime.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
using Fingerprint = std::vector<FileStamp>;

Fingerprint fingerprint(const TlsOptions& o) {
  Fingerprint out;
  for (const std::string* path : {&o.ca_file, &o.ca_dir, &o.cert_file, &o.key_file}) {
    FileStamp s;
    struct stat st {};
    if (!path->empty() && ::stat(path->c_str(), &st) == 0) {
      s = {st.st_dev, st.st_ino, st.st_size,
           static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    }
    out.push_back(s);
  }
  return out;
}

class SharedContext {
 public:
  // The current context; rebuilt first when the files changed since it was built. A rebuild
  // that fails keeps the old context (and is not retried until the files change again).
  Result<std::shared_ptr<SSL_CTX>> current(const TlsOptions& o, bool force) {
    std::lock_guard lock(mu_);
    Fingerprint now = fingerprint(o);
    bool changed = now != loaded_ && (now != failed_ || force);
    if (ctx_ && !changed && !force) return ctx_;
    auto built = buildContext(o);
    if (!built) {
      failed_ = now;
      state_.error = built.error().message;
      if (ctx_) return ctx_;
      return built.error();
    }
    ctx_ = std::shared_ptr<SSL_CTX>(built->release(), CtxFree{});
    loaded_ = now;
    state_ = {state_.generation + 1, wallMs(), certNotAfter(ctx_.get()), {}};
    return ctx_;
  }
  TlsContextState state() const {
    std::lock_guard lock(mu_);
    return state_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;
  Fingerprint loaded_;
  Fingerprint failed_;
  TlsContextState state_;
};

// server_name and sni are set per connection; they do not need a context of their own.
using ContextKey = std::array<std::string, 4>;

SharedContext& sharedContext(const TlsOptions& o) {
  static std::mutex mu;
  static std::map<ContextKey, std::unique_ptr<SharedContext>> contexts;
  std::lock_guard lock(mu);
  auto& slot = contexts[{o.ca_file, o.ca_dir, o.cert_file, o.key_file}];
  if (!slot) slot = std::make_unique<SharedContext>();
  return *slot;
}

}  // namespace

Result<int64_t> pemEarliestNotAfter(const std::string& path) {
  if (Status st = checkReadable("certificate file", path); !st) return st.error();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(path.c_str(), "r"), BIO_free);
  if (!bio) return fail(Errc::Io, fmt::format("TLS: cannot open {}: {}", path, opensslReason()));
  int64_t earliest = 0;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(raw, X509_free);
    int64_t t = notAfter(cert.get());
    if (t != 0 && (earliest == 0 || t < earliest)) earliest = t;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (earliest == 0) {
    return fail(Errc::Invalid, fmt::format("TLS: no certificate with an expiry in {}", path));
  }
  return earliest;
}

TlsContextState tlsContextState(const TlsOptions& options) {
  return sharedContext(options).state();
}

Status reloadTlsContext(const TlsOptions& options) {
  auto ctx = sharedContext(options).current(options, true);
  if (!ctx) return ctx.error();
  std::string error = sharedContext(options).state().error;
  if (!error.empty()) return fail(Errc::Invalid, error);
  return {};
}

// ----- sessions -----

namespace {

Status setServerName(SSL* ssl, const TlsOptions& o) {
  if (o.server_name.empty()) return {};
  bool ip = isIpLiteral(o.server_name);
  int ok = 1;
  if (ip) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o.server_name.c_str());
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = SSL_set1_host(ssl, o.server_name.c_str());
  }
  if (ok == 1 && o.sni && !ip) {
    ok = static_cast<int>(SSL_set_tlsext_host_name(ssl, o.server_name.c_str()));
  }
  if (ok != 1) {
    return fail(Errc::Invalid, fmt::format("TLS: cannot verify by the name '{}': {}", o.server_name,
                                           opensslReason()));
  }
  return {};
}

// A plaintext Redis (TLS off, or not its tls-port) reads a ClientHello as the start of an inline
// command: it answers an error once a newline byte happens to come, or waits for more.
constexpr const char* kPlaintextPortHint =
    "is this Redis' tls-port, or is TLS off on this Redis (agent: --tls=off)?)";

// Why a handshake failed, in words an operator can act on.
std::string handshakeFailure(SSL* ssl, int err, int rc, const TlsOptions& o) {
  // NOLINTNEXTLINE(google-runtime-int): OpenSSL's type
  unsigned long first = ERR_peek_error();
  long verify = SSL_get_verify_result(ssl);  // NOLINT(google-runtime-int): OpenSSL's type
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    ERR_clear_error();
    return fmt::format("TLS: the server's certificate is not valid for '{}' (name verification)",
                       o.server_name);
  }
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return fmt::format("TLS: the server's certificate failed verification: {}",
                       X509_verify_cert_error_string(verify));
  }
  if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return rc == 0 || errno == 0
               ? "TLS handshake failed: the server closed the connection (is it a TLS port?)"
               : fmt::format("TLS handshake failed: {}", std::strerror(errno));
  }
  std::string reason = opensslReason();
  if (ERR_GET_REASON(first) == SSL_R_WRONG_VERSION_NUMBER ||
      ERR_GET_REASON(first) == SSL_R_PACKET_LENGTH_TOO_LONG) {
    return "TLS handshake failed: " + reason +
           " (the server answered without TLS: " + kPlaintextPortHint;
  }
  return "TLS handshake failed: " + reason;
}

// Hints for the alerts a server sends when it does not accept the client.
std::string alertHint(const std::string& reason) {
  if (reason.find("certificate required") != std::string::npos) {
    return " (the server requires a client certificate: configure a certificate and key)";
  }
  if (reason.find("unknown ca") != std::string::npos ||
      reason.find("bad certificate") != std::string::npos) {
    return " (the server does not accept the client certificate)";
  }
  return {};
}

}  // namespace

void TlsSession::SslFree::operator()(ssl_st* ssl) const {
  SSL_free(ssl);
}

TlsSession::~TlsSession() {
  // One best-effort close_notify; the socket is non-blocking, so this never waits.
  if (ssl_ && clean_ && SSL_is_init_finished(ssl_.get()) == 1) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
}

Result<std::unique_ptr<TlsSession>> TlsSession::handshake(int fd, const TlsOptions& options,
                                                          int64_t deadline_ms,
                                                          const Canceller* cancel) {
  auto ctx = sharedContext(options).current(options, false);
  if (!ctx) return ctx.error();
  std::unique_ptr<ssl_st, SslFree> ssl(SSL_new(ctx->get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    return fail(Errc::Transport, "TLS: cannot create a session: " + opensslReason());
  }
  if (Status st = setServerName(ssl.get(), options); !st) return st.error();
  while (true) {
    ERR_clear_error();
    int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      return fail(Errc::Transport, handshakeFailure(ssl.get(), err, rc, options));
    }
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    if (Status st = waitReady(fd, events, deadline_ms, cancel); !st) {
      // A plaintext Redis reads a ClientHello as the start of an inline command and waits for
      // its newline: the handshake gets no answer at all.
      bool silent =
          st.error().code == Errc::Timeout && SSL_get_state(ssl.get()) == TLS_ST_CW_CLNT_HELLO;
      return fail(st.error().code,
                  "TLS handshake " + st.error().message +
                      (silent ? std::string(" (no TLS answer: ") + kPlaintextPortHint : ""));
    }
  }
  return std::unique_ptr<TlsSession>(new TlsSession(std::move(ssl)));
}

IoResult TlsSession::read(char* buf, size_t len) {
  ERR_clear_error();
  int n = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (n > 0) return {IoResult::Kind::Done, static_cast<size_t>(n), {}};
  return failed(n);
}

IoResult TlsSession::write(const char* buf, size_t len) {
  ERR_clear_error();
  int n = SSL_write(ssl_.get(), buf, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (n > 0) return {IoResult::Kind::Done, static_cast<size_t>(n), {}};
  return failed(n);
}

IoResult TlsSession::failed(int rc) {
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) return {IoResult::Kind::WantRead, 0, {}};
  if (err == SSL_ERROR_WANT_WRITE) return {IoResult::Kind::WantWrite, 0, {}};
  clean_ = false;
  if (err == SSL_ERROR_ZERO_RETURN) return {IoResult::Kind::Closed, 0, {}};
  // NOLINTNEXTLINE(google-runtime-int): OpenSSL's type
  unsigned long e = ERR_peek_error();
  if ((err == SSL_ERROR_SYSCALL && e == 0 && (rc == 0 || errno == 0)) ||
      ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return {IoResult::Kind::Closed, 0, {}};  // closed without close_notify
  }
  if (err == SSL_ERROR_SYSCALL && e == 0) {
    return {IoResult::Kind::Failed, 0, std::strerror(errno)};
  }
  std::string reason = opensslReason();
  return {IoResult::Kind::Failed, 0, "TLS: " + reason + alertHint(reason)};
}

}  // namespace agent::redis
