#!/bin/sh
# The preStop hook the tutorial's pods do not have, run by hand before one of them is deleted
# during the adoption (README, "Coming from the tutorial"). When the pod's Redis is a master
# with slots, its most caught-up healthy replica takes over with CLUSTER FAILOVER: Redis pauses
# the master's writers until the replica has every write, then the two switch roles, so no
# acknowledged write is lost and writes wait well under a second. The script waits until the
# roles have switched.
#
# Exit 0: the pod may be deleted (it is a replica now, or has nothing to hand over).
# Exit 1: do not delete it yet; the reason is printed. Nothing was changed, or the failover was
#         asked for and did not happen (Redis gives a manual failover up after 5 s and leaves
#         the roles as they were); running the script again is safe.
#
# Usage: examples/tutorial/handover-old-pod.sh POD    (e.g. redis-cluster-5)
# Only redis-cli inside the pod is used (Redis 5.0 and newer). KUBECTL overrides the kubectl.
set -eu
pod=${1:?usage: handover-old-pod.sh POD}
kubectl=${KUBECTL:-kubectl}

# redis-cli in the pod; -h/-p after the command's own address reach another node from there.
cli() { "$kubectl" exec "$pod" -c redis -- redis-cli "$@" | tr -d '\r'; }
field() { sed -n "s/^$1://p"; }

role=$(cli role | head -n 1)
case $role in
  slave) echo "$pod is a replica: nothing to hand over"; exit 0 ;;
  master) ;;
  *) echo "$pod: unexpected answer to ROLE: '$role'" >&2; exit 1 ;;
esac
myid=$(cli cluster myid)
mine=$(cli cluster nodes | awk '$3 ~ /myself/')
if [ -z "$(echo "$mine" | awk '{ print $9 }')" ]; then
  echo "$pod is a master without slots: nothing to hand over"
  exit 0
fi

# Its replicas as the master sees them: linked on the cluster bus and not flagged failing.
candidates=$(cli cluster nodes | awk -v id="$myid" \
  '$4 == id && $3 !~ /fail|noaddr|handshake/ && $8 == "connected" { sub(/@.*/, "", $2); print $2 }')
best="" best_offset=-1
for addr in $candidates; do
  info=$(cli -h "${addr%:*}" -p "${addr##*:}" info replication) || continue
  [ "$(echo "$info" | field master_link_status)" = up ] || continue
  [ "$(echo "$info" | field master_sync_in_progress)" = 0 ] || continue
  offset=$(echo "$info" | field slave_repl_offset)
  if [ "${offset:-0}" -gt "$best_offset" ]; then best=$addr best_offset=$offset; fi
done
if [ -z "$best" ]; then
  echo "$pod is a master with no healthy replica (link up, not syncing); nobody can take" \
    "over: do not delete it until one is (redis-cli cluster nodes, info replication)" >&2
  exit 1
fi

echo "$pod is a master; asking its replica $best to take over (CLUSTER FAILOVER)"
reply=$(cli -h "${best%:*}" -p "${best##*:}" cluster failover)
if [ "$reply" != OK ]; then
  echo "$best refused CLUSTER FAILOVER: $reply" >&2
  exit 1
fi
tries=0
while [ "$(cli role | head -n 1)" != slave ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 15 ]; then
    echo "$pod is still a master 15 s after the failover request: do not delete it yet;" \
      "run this script again" >&2
    exit 1
  fi
  sleep 1
done
echo "$pod is a replica of $best now: it may be deleted"
