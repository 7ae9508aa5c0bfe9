// SPDX-License-Identifier: Apache-2.0
#include "redis/scrub.h"

#include <algorithm>
#include <string_view>

namespace agent::redis {

namespace {

// A cut-off secret is redacted when at least this much of its start shows.
constexpr size_t kMinPrefix = 8;

size_t commonPrefix(std::string_view a, std::string_view b) {
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return static_cast<size_t>(ia - a.begin());
}

std::string scrubOne(const std::string& text, std::string_view secret) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t k = commonPrefix(std::string_view(text).substr(i), secret);
    if (k == secret.size() || k >= kMinPrefix) {
      out += kRedacted;
      i += k;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

std::string scrubSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    text = scrubOne(text, secret);
    std::string spaced = secret;
    std::replace(spaced.begin(), spaced.end(), '\r', ' ');
    std::replace(spaced.begin(), spaced.end(), '\n', ' ');
    if (spaced != secret) text = scrubOne(text, spaced);
  }
  return text;
}

}  // namespace agent::redis
