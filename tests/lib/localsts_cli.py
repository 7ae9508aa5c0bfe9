"""`scripts/local-sts`: the local StatefulSet (tests/lib/localsts.py) as a command line, one
command per process; the StatefulSet's state lives in <root>/state.json between commands."""
import argparse
import os
import shutil
import time

import servers
from localsts import DEFAULT_ROOT, LocalStatefulSet


def main(argv):
    ap = argparse.ArgumentParser(prog="local-sts", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.environ.get("LOCAL_STS_ROOT", DEFAULT_ROOT))
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the pods and wait until the cluster is healthy")
    up.add_argument("--pods", type=int, default=6)
    up.add_argument("--replicas", type=int, default=1)
    up.add_argument("--node-timeout", type=int, default=15000)
    up.add_argument("--password", default=None)
    up.add_argument("--net", default="127.77")
    up.add_argument("--server", choices=sorted(servers.SERVERS), default=None,
                    help=f"redis or valkey (default: ${servers.ENV}, else redis)")
    up.add_argument("--timeout", type=float, default=60)
    up.add_argument("--no-wait", action="store_true")
    sub.add_parser("status", help="the agent's status table")
    sub.add_parser("check", help="redis-cli --cluster check")
    sub.add_parser("down", help="stop every process of the local StatefulSet")
    for name, helptext in (("stop", "delete a pod (SIGTERM), keeping its data"),
                           ("kill", "kill a pod (SIGKILL), keeping its data"),
                           ("start", "start a stopped pod"),
                           ("restart", "delete a pod and start it again on a new IP")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("ordinal", type=int)
        if name in ("start", "restart"):
            p.add_argument("--same-ip", action="store_true")
            p.add_argument("--wipe", action="store_true", help="start with an empty data dir")
    sc = sub.add_parser("scale", help="scale to N pods like helm upgrade --set cluster.nodes=N: "
                                      "shape file, pods, the agent's scale verb (scale-in: "
                                      "drain first, then remove the pods)")
    sc.add_argument("pods", type=int)
    sc.add_argument("--replicas", type=int, default=None, help="replicas per master (default: "
                                                               "as now)")
    sc.add_argument("--timeout", type=float, default=600, help="per run of the verb")
    d = sub.add_parser("delete", help="kubectl delete pod: preStop (handover), SIGTERM; the pod "
                                      "stays down until 'start'")
    d.add_argument("ordinal", type=int)
    pre = sub.add_parser("prestop", help="run only the preStop hook (handover) of a pod")
    pre.add_argument("ordinal", type=int)
    ro = sub.add_parser("rollout-restart", aliases=["rolling-restart"],
                        help="kubectl rollout restart: every pod, highest ordinal first")
    ro.add_argument("--same-ip", action="store_true")
    ro.add_argument("--away", type=float, default=0.0,
                    help="seconds between a pod's exit and its new start (scheduling, volume)")
    ro.add_argument("--timeout", type=float, default=120, help="readiness wait per pod")
    for p in (d, ro):
        p.add_argument("--no-prestop", action="store_true",
                       help="plain SIGTERM, no handover (the tutorial's behaviour)")
        p.add_argument("--classic-sidecar", action="store_true",
                       help="the agent gets SIGTERM as the preStop starts (no native sidecar)")
    args = ap.parse_args(argv)

    if args.cmd == "up":
        if os.path.exists(os.path.join(args.root, "state.json")):
            old = LocalStatefulSet.load(args.root)
            old.down()
        shutil.rmtree(args.root, ignore_errors=True)
        sts = LocalStatefulSet(args.root, pods=args.pods, replicas=args.replicas,
                               node_timeout=args.node_timeout, password=args.password,
                               net=args.net, server=args.server)
        sts.up()
        print(f"Started {args.pods} pods under {args.root}; waiting for the agents to form the "
              f"cluster...")
        if not args.no_wait:
            t0 = time.monotonic()
            sts.wait_healthy(timeout=args.timeout)
            print(f"Cluster formed in {time.monotonic() - t0:.1f}s.")
            # Replicas finish their first sync a few seconds later (Redis' diskless-sync delay).
            try:
                sts.wait_ready(timeout=15, interval=0.2)
            except TimeoutError:
                pass  # the table below shows what is still syncing
            print(f"Replicas in sync after {time.monotonic() - t0:.1f}s.\n")
        rc, out = sts.status(json_output=False)
        print(out)
        return 0
    sts = LocalStatefulSet.load(args.root)
    if args.cmd == "status":
        rc, out = sts.status(json_output=False)
        print(out, end="")
        return rc
    if args.cmd == "check":
        rc, out = sts.cluster_check()
        print(out, end="")
        return rc
    if args.cmd == "down":
        sts.down()
        print(f"Stopped every process under {args.root}.")
        return 0
    if args.cmd == "scale":
        t0 = time.monotonic()
        try:
            out = sts.scale_cluster(args.pods, args.replicas, timeout=args.timeout,
                                    on_step=lambda what: print(
                                        f"[{time.monotonic() - t0:6.1f}s] {what}", flush=True))
        except RuntimeError as e:
            print(e)
            return 1
        print(out, end="")
        print(f"Scaled to {args.pods} pods in {time.monotonic() - t0:.1f}s.")
        return 0
    if args.cmd == "prestop":
        r = sts.prestop(args.ordinal)
        print(r.output, end="")
        print(f"(preStop took {r.seconds:.3f}s, exit code {r.rc})")
        return 0 if r.rc == 0 else 1
    if args.cmd in ("rollout-restart", "rolling-restart"):
        def show(rec):
            pre = rec["prestop"]
            what = f"handover {pre.outcome} in {pre.seconds:.3f}s" if pre else "no preStop"
            print(f"redis-{rec['ordinal']} ({rec['role']}): {what}; back at {rec['ip']}, "
                  f"ready after {rec['total_s']:.1f}s", flush=True)
        sts.rollout_restart(prestop=not args.no_prestop,
                            sidecar="classic" if args.classic_sidecar else "native",
                            new_ip=not args.same_ip, away=args.away, ready_timeout=args.timeout,
                            on_pod=show)
        return 0
    if args.cmd == "delete":
        r = sts.delete_pod(args.ordinal, prestop=not args.no_prestop,
                           sidecar="classic" if args.classic_sidecar else "native")
        if r:
            print(r.output, end="")
    elif args.cmd == "stop":
        sts.stop_pod(args.ordinal)
    elif args.cmd == "kill":
        sts.kill_pod(args.ordinal)
    elif args.cmd == "start":
        sts.start_pod(args.ordinal, new_ip=not args.same_ip, wipe=args.wipe)
    elif args.cmd == "restart":
        sts.restart_pod(args.ordinal, new_ip=not args.same_ip, wipe=args.wipe)
    p = sts.pods[args.ordinal]
    print(f"{p.name}: {'running at ' + p.ip if p.running else 'stopped'}")
    return 0
