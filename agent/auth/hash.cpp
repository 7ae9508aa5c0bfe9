// SPDX-License-Identifier: Apache-2.0
#include "auth/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <vector>

namespace agent::auth {

namespace {

std::string toHex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

// The fingerprint's salt: a fixed label, so it can never equal another use of PBKDF2 with the
// same password, and the cluster's own part.
constexpr std::string_view kLabel = "redis-cluster-agent password fingerprint v1\n";

}  // namespace

std::string sha256Hex(std::string_view password) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(password.data()), password.size(), digest.data());
  return toHex(digest.data(), digest.size());
}

std::string pbkdf2Sha256Hex(std::string_view password, std::string_view salt, int rounds,
                            size_t bytes) {
  std::vector<unsigned char> out(bytes);
  // Fails only on allocation failure or bad arguments (none here); an empty result then makes
  // every comparison fail, which blocks a rotation instead of letting it go wrong.
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), rounds, EVP_sha256(),
                        static_cast<int>(bytes), out.data()) != 1) {
    return {};
  }
  return toHex(out.data(), out.size());
}

std::string fingerprint(std::string_view password, std::string_view salt) {
  std::string full(kLabel);
  full += salt;
  return pbkdf2Sha256Hex(password, full, kFingerprintRounds, 8);
}

}  // namespace agent::auth
