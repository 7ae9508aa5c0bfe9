// SPDX-License-Identifier: Apache-2.0
// Cluster creation, run by the agent of ordinal 0 only. It creates the cluster once, only from
// provably empty nodes, and never sends CLUSTER RESET, FLUSHALL or FORGET. Every step is
// idempotent and checked against the live state, so an attempt cut short at any point is
// recognised and finished by the next one; anything that does not match the plan (data, a
// foreign node, another layout) is left alone with the reason logged.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster/create_plan.h"
#include "cluster/pods.h"
#include "cluster/timeout_boost.h"
#include "common/clock.h"
#include "common/counters.h"

namespace agent::cluster {

// Where the creation stands after a step.
enum class CreatePhase {
  WaitingForPeers,  // a pod does not resolve or answer yet
  Blocked,          // a pod is not empty and there is no cluster: never touched, reason logged
  Creating,         // steps in progress
  Done,             // formed by us, or a cluster already exists: nothing more to do
};

const char* createPhaseName(CreatePhase phase);

// What the nodes look like against the plan; pure, for unit tests.
struct Assessment {
  bool consistent = true;            // every node is empty or holds exactly planned state
  bool cluster_exists = false;       // some node sees all 16384 slots assigned
  std::vector<std::string> reasons;  // why it is not consistent
  std::map<int, int> attached;       // replica ordinal -> master ordinal, already in place
};
Assessment assessForCreation(const std::vector<PeerProbe>& pods, const CreatePlan& plan);

struct CreatorOptions {
  int nodes = 6;
  int replicas = 1;
  std::string my_k8s_node;
  std::string my_zone;
  // Fault injection for tests: kill this process right after the named step
  // ("shorten", "slots", "epochs", "meet-half", "meet", "replicate-half").
  std::string crash_after;
  // This StatefulSet's peer host template: every pod's agent must vouch for its pod
  // (cluster/identity.h) before the pod's node is touched.
  std::string set;
  int my_ordinal = 0;
  int probe_workers = 4;  // the pool's workers: how many pods a round probes at once
};

// The budget of one creator round over `nodes` pods probed `workers` at a time: a round must
// see every pod answer, so it grows with the pods each worker has to probe in turn (about
// kCreatorProbeMs each, a snapshot and the agent's /peerinfo, on a busy node), and never falls
// below Creator::kProbeBudgetMs. Pods that answer sooner end the round sooner.
inline constexpr int64_t kCreatorProbeMs = 150;
int64_t creatorRoundBudgetMs(int nodes, int workers);

// Looks up where a pod runs through its agent: nullopt when the agent did not answer (ask again
// later); empty names when it answered without them (no NODE_NAME or zone: never will).
using PlacementLookup = std::function<std::optional<Placement>(const PeerProbe& pod)>;

class Creator {
 public:
  Creator(CreatorOptions options, Pods& pods, TimeoutBoost& boost, PlacementLookup lookup,
          Activity& activity, Clock& clock = systemClock());
  // One pass over the live state: probes every pod (and asks its agent who it is) within a
  // budget of creatorRoundBudgetMs, and sends the next step's commands. Returns the milliseconds to
  // wait before the next pass.
  int64_t step();
  CreatePhase phase() const { return phase_; }
  static constexpr int64_t kProbeBudgetMs = 1000;
  // Ends creation for good when the local node already belongs to a formed cluster.
  void finish(const std::string& reason);

 private:
  bool allAnswering(const std::vector<PeerProbe>& pods);
  bool allVouched(const std::vector<PeerProbe>& pods);
  bool allSupported(const std::vector<PeerProbe>& pods);
  bool versionsFit(const std::vector<PeerProbe>& pods, const CreatePlan& plan);
  void refuse(ErrorKind kind, const std::string& what, const std::vector<std::string>& why);
  std::vector<Placement> placements(const std::vector<PeerProbe>& pods);
  bool waitForK8sNodes(const std::vector<Placement>& places, int64_t now);
  int64_t createFrom(const std::vector<PeerProbe>& pods, const std::vector<Placement>& places,
                     int64_t now);
  void shortenNodeTimeout(const std::vector<PeerProbe>& pods, const CreatePlan& plan);
  bool assignSlots(const std::vector<PeerProbe>& pods, const CreatePlan& plan);
  bool setEpochs(const std::vector<PeerProbe>& pods);
  bool meetAll(const std::vector<PeerProbe>& pods);
  bool attachReplicas(const std::vector<PeerProbe>& pods, const CreatePlan& plan,
                      const Assessment& a);
  bool send(int ordinal, Action what, const std::vector<std::string>& args);
  void maybeCrash(const std::string& point);
  void report(CreatePhase phase, const std::string& what, const std::vector<std::string>& why);

  CreatorOptions options_;
  Pods& pods_;
  TimeoutBoost& boost_;
  PlacementLookup lookup_;
  CreatePhase phase_ = CreatePhase::WaitingForPeers;
  std::map<int, Placement> places_;  // ordinal -> where it runs ("" = none), once answered
  int64_t peers_answering_since_ = 0;
  int64_t started_ms_ = 0;
  bool acted_ = false;  // this process sent at least one creation command
  int64_t backoff_ms_ = 100;
  std::string last_report_;
  int64_t last_report_ms_ = 0;
  Activity& activity_;
  Clock& clock_;
};

}  // namespace agent::cluster
