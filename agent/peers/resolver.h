// SPDX-License-Identifier: Apache-2.0
// Name resolution for peer pods through the system resolver (the headless Service in
// Kubernetes, /etc/hosts in the local StatefulSet). CLUSTER MEET accepts only IP literals, so
// every peer name is resolved here first. Depends on common/ only.
#pragma once

#include <string>

#include "common/result.h"

namespace agent::peers {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The address of `name`, as a literal. Prefers the family of `preferred_family_hint` (an
  // address of ours) when the name has both. NotFound when the name does not resolve.
  virtual Result<std::string> resolve(const std::string& name,
                                      const std::string& preferred_family_hint) = 0;
};

// getaddrinfo(3). Blocking; the resolver's own timeouts bound it.
class SystemResolver final : public Resolver {
 public:
  Result<std::string> resolve(const std::string& name,
                              const std::string& preferred_family_hint) override;
};

bool isIpLiteral(const std::string& s);

}  // namespace agent::peers
