// SPDX-License-Identifier: Apache-2.0
// The two one-way forms of a password the agent handles. sha256Hex is how Redis' ACL keeps a
// password (ACL GETUSER lists it, `#<hex>` adds it): the agent compares and restores passwords
// in that form, and keeps only that form on disk. fingerprint is what agents tell each other on
// /peerinfo to agree on "the same new password": slow and salted, so a listener learns
// "same or different" and, short of guessing the password, nothing else. OpenSSL's libcrypto.
#pragma once

#include <string>
#include <string_view>

namespace agent::auth {

// SHA-256 of `password`, 64 lowercase hex digits (Redis' ACL form).
std::string sha256Hex(std::string_view password);

// PBKDF2-HMAC-SHA256 of `password` with `salt` and kFingerprintRounds rounds, the first 8 bytes
// as 16 hex digits. The salt is per cluster (the peer name template), so the same password in
// two clusters gives two fingerprints.
std::string fingerprint(std::string_view password, std::string_view salt);

// Each round costs an attacker who saw a fingerprint one HMAC per guess; 100 000 rounds take the
// agent ~30 ms, once per new password.
inline constexpr int kFingerprintRounds = 100000;

// PBKDF2-HMAC-SHA256, `bytes` bytes as hex (exposed for the RFC test vectors).
std::string pbkdf2Sha256Hex(std::string_view password, std::string_view salt, int rounds,
                            size_t bytes);

}  // namespace agent::auth
