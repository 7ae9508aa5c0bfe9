// SPDX-License-Identifier: Apache-2.0
// Threads: the owner (the loop in `run`, the main thread in `prepare` and `status`) and
// options.workers workers. The owner queues one job per pod of a round and waits for the
// results until the round's deadline; a job still running then keeps its pod busy, and the pod
// is skipped (stale) until a later round collects the result. A busy pod's slot (its connection
// included) belongs to the worker running its job; everything else is the owner's. The mutex
// guards the queue, the busy flags and the results.
#include "cluster/peer_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "common/clock.h"
#include "common/log.h"
#include "peers/resolver.h"
#include "redis/credentials.h"

namespace agent::cluster {

namespace {

const log::Logger kLog("peers");

// The connect options for the pod called `name`: with verify_names, its certificate must be
// valid for that name (the name resolved, not the address it led to).
redis::ConnectOptions connectOptions(const PeerPoolOptions& pool, const std::string& name) {
  redis::ConnectOptions options = pool.connect;
  if (options.tls && pool.verify_names) {
    options.tls->server_name = name;
    options.tls->sni = true;
  }
  return options;
}

// The server's name and version: free after a snapshot (its INFO carries them), else one INFO
// server per connection (the connection keeps the answer).
void noteServer(redis::Connection& conn, PeerProbe& p) {
  auto server = conn.server();
  if (server) p.server = *server;
}

struct Job {
  int ordinal = 0;
  Pods::Depth depth = Pods::Depth::Id;
  bool agent_info = false;
};

struct Slot {
  bool busy = false;  // a job for this pod is queued or running
  std::optional<PeerProbe> result;
  Pods::Depth result_depth = Pods::Depth::Id;
  std::optional<redis::Connection> conn;
  int64_t last_used_ms = 0;
  bool slow = false;  // its last probe timed out: queued after the others
};

}  // namespace

struct PeerPool::Shared {
  Shared(PeerPoolOptions o, peers::Resolver& r, std::vector<std::string> n)
      : options(std::move(o)), resolver(&r), names(std::move(n)), slots(names.size()) {}

  const PeerPoolOptions options;
  peers::Resolver* const resolver;
  const std::vector<std::string> names;

  std::mutex mu;
  std::condition_variable work_cv;  // a job was queued, or the pool stops
  std::condition_variable done_cv;  // a job finished, or a worker exited
  std::deque<Job> queue;
  std::vector<Slot> slots;
  std::vector<bool> exited;  // by worker
  bool stopping = false;
  std::atomic<int64_t> dns_lookups{0};
  std::atomic<int64_t> redis_probes{0};

  // One worker's life: take jobs until the pool stops.
  void work(size_t index);
  PeerProbe run(const Job& job);
  void probeRedis(const Job& job, Slot& slot, PeerProbe& p);
  void askAgent(PeerProbe& p) const;
};

void PeerPool::Shared::askAgent(PeerProbe& p) const {
  p.agent_asked = true;
  p.agent =
      cluster::askAgent(p.ip, options.agent_port, options.connect.connect_timeout_ms, p.pod());
}

void PeerPool::Shared::probeRedis(const Job& job, Slot& slot, PeerProbe& p) {
  redis_probes.fetch_add(1, std::memory_order_relaxed);
  auto& conn = slot.conn;
  if (conn && (!conn->healthy() || conn->endpoint().host != p.ip)) conn.reset();
  if (!conn) {
    auto opened = redis::connect({p.ip, options.redis_port}, connectOptions(options, p.name));
    if (!opened) {
      p.error = opened.error();
      return;
    }
    conn.emplace(std::move(*opened));
  }
  if (job.depth == Depth::Snapshot) {
    auto snap = takeSnapshot(*conn);
    if (!snap) {
      p.error = snap.error();
      if (!conn->healthy()) conn.reset();
      return;
    }
    p.node_id = snap->myId();
    if (p.node_id.empty()) p.error = fail(Errc::Server, "loading its dataset");
    p.snapshot = std::move(*snap);
    noteServer(*conn, p);
    return;
  }
  auto id = conn->commandString({"CLUSTER", "MYID"});
  if (!id) {
    p.error = id.error();
    if (!conn->healthy()) conn.reset();
    return;
  }
  p.node_id = *id;
  noteServer(*conn, p);
}

PeerProbe PeerPool::Shared::run(const Job& job) {
  auto idx = static_cast<size_t>(job.ordinal);
  Slot& slot = slots[idx];
  PeerProbe p;
  p.ordinal = job.ordinal;
  p.name = names[idx];
  dns_lookups.fetch_add(1, std::memory_order_relaxed);
  auto ip = resolver->resolve(p.name, options.my_ip);
  if (!ip) {
    p.error = ip.error();
    if (job.depth != Depth::Resolve) slot.conn.reset();
    return p;
  }
  p.ip = *ip;
  if (job.depth == Depth::Resolve) return p;
  probeRedis(job, slot, p);
  if (job.agent_info && p.answering()) askAgent(p);
  return p;
}

PeerPool::PeerPool(PeerPoolOptions options, peers::Resolver& resolver,
                   std::vector<std::string> names)
    : shared_(std::make_shared<Shared>(std::move(options), resolver, names)) {
  last_.resize(names.size());
  resolved_.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    for (auto* v : {&last_, &resolved_}) {
      (*v)[i].ordinal = static_cast<int>(i);
      (*v)[i].name = names[i];
      (*v)[i].stale = true;
    }
  }
  auto count = static_cast<size_t>(std::max(1, shared_->options.workers));
  shared_->exited.assign(count, false);
  for (size_t i = 0; i < count; ++i) {
    // Each worker owns a reference: one left behind by the destructor keeps what it uses.
    workers_.emplace_back([s = shared_, i] { s->work(i); });
  }
}

void PeerPool::Shared::work(size_t index) {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu);
      work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
      job = queue.front();
      queue.pop_front();
    }
    PeerProbe result = run(job);
    {
      std::lock_guard lock(mu);
      Slot& slot = slots[static_cast<size_t>(job.ordinal)];
      slot.slow = result.error && result.error->code == Errc::Timeout;
      slot.result = std::move(result);
      slot.result_depth = job.depth;
      slot.last_used_ms = monotonicMs();
      slot.busy = false;
    }
    done_cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    exited[index] = true;
  }
  done_cv.notify_all();
}

PeerPool::~PeerPool() {
  std::unique_lock lock(shared_->mu);
  shared_->stopping = true;
  shared_->queue.clear();
  shared_->work_cv.notify_all();
  auto all_exited = [&] {
    return std::all_of(shared_->exited.begin(), shared_->exited.end(), [](bool e) { return e; });
  };
  shared_->done_cv.wait_for(lock, std::chrono::milliseconds(kStopWaitMs), all_exited);
  std::vector<bool> exited = shared_->exited;
  lock.unlock();
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (exited[i]) {
      workers_[i].join();
    } else {
      kLog.warn("A peer probe did not end in time; leaving it behind", {{"worker", i}});
      workers_[i].detach();
    }
  }
}

const std::vector<PeerProbe>& PeerPool::probe(const Request& request) {
  auto& s = *shared_;
  std::vector<int> ordinals = request.ordinals;
  if (ordinals.empty()) {
    for (size_t i = 0; i < s.names.size(); ++i) ordinals.push_back(static_cast<int>(i));
  }
  std::erase_if(ordinals, [&](int o) { return o < 0 || o >= static_cast<int>(s.names.size()); });
  int64_t start = monotonicMs();
  std::unique_lock lock(s.mu);
  for (auto& slot : s.slots) {
    if (!slot.busy && slot.conn && start - slot.last_used_ms > s.options.idle_close_ms) {
      slot.conn.reset();
    }
  }
  // Pods whose last probe timed out go last, so a silent pod delays nobody else.
  std::stable_sort(ordinals.begin(), ordinals.end(), [&](int a, int b) {
    return !s.slots[static_cast<size_t>(a)].slow && s.slots[static_cast<size_t>(b)].slow;
  });
  for (int o : ordinals) {
    Slot& slot = s.slots[static_cast<size_t>(o)];
    if (slot.busy) continue;  // still running from an earlier round: wait for it too
    slot.busy = true;
    slot.result.reset();
    s.queue.push_back({o, request.depth, request.agent_info});
  }
  s.work_cv.notify_all();
  auto done = [&] {
    return std::none_of(ordinals.begin(), ordinals.end(),
                        [&](int o) { return s.slots[static_cast<size_t>(o)].busy; });
  };
  if (request.budget_ms < 0) {
    s.done_cv.wait(lock, done);
  } else {
    s.done_cv.wait_until(
        lock, std::chrono::steady_clock::now() + std::chrono::milliseconds(request.budget_ms),
        done);
  }
  collect(ordinals, request.depth);
  return request.depth == Depth::Resolve ? resolved_ : last_;
}

// With the mutex held: takes every finished result; those of `asked` pods at `depth` are this
// round's, every other entry is stale.
void PeerPool::collect(const std::vector<int>& asked, Depth depth) {
  auto& s = *shared_;
  for (auto* v : {&last_, &resolved_}) {
    for (auto& p : *v) p.stale = true;
  }
  for (size_t i = 0; i < s.slots.size(); ++i) {
    Slot& slot = s.slots[i];
    if (!slot.result) continue;
    bool resolve = slot.result_depth == Depth::Resolve;
    auto& into = resolve ? resolved_ : last_;
    into[i] = std::move(*slot.result);
    slot.result.reset();
    bool wanted = std::find(asked.begin(), asked.end(), static_cast<int>(i)) != asked.end();
    into[i].stale = !wanted || slot.result_depth != depth;
  }
}

void PeerPool::idle() {
  std::lock_guard lock(shared_->mu);
  collect({}, Depth::Id);
}

void PeerPool::setOwn(int ordinal, const std::string& ip, const Snapshot& local,
                      const AgentInfo& self) {
  auto idx = static_cast<size_t>(ordinal);
  if (idx >= last_.size()) return;
  PeerProbe& p = last_[idx];
  p.ip = ip;
  p.node_id = local.myId();
  p.error.reset();
  p.snapshot = local;
  p.server = redis::serverInfoFrom(local.info);
  p.agent = self;
  p.agent_asked = true;
  p.stale = false;
}

redis::Connection* PeerPool::connection(int ordinal) {
  auto& s = *shared_;
  auto idx = static_cast<size_t>(ordinal);
  std::lock_guard lock(s.mu);
  if (idx >= s.slots.size()) return nullptr;
  Slot& slot = s.slots[idx];
  if (slot.busy || !slot.conn || !slot.conn->healthy()) return nullptr;
  slot.last_used_ms = monotonicMs();
  return &*slot.conn;
}

Result<redis::Reply> PeerPool::command(int ordinal, const std::vector<std::string>& args) {
  if (ordinal == kLocal) {
    redis::Connection* local = local_ ? local_() : nullptr;
    if (local == nullptr) return fail(Errc::Transport, "no connection to the local Redis");
    return local->command(args);
  }
  redis::Connection* conn = connection(ordinal);
  if (conn == nullptr) {
    return fail(Errc::Transport, fmt::format("no connection to {}",
                                             shared_->names.at(static_cast<size_t>(ordinal))));
  }
  return conn->command(args);
}

int64_t PeerPool::dnsLookups() const {
  return shared_->dns_lookups.load(std::memory_order_relaxed);
}

int64_t PeerPool::redisProbes() const {
  return shared_->redis_probes.load(std::memory_order_relaxed);
}

}  // namespace agent::cluster
