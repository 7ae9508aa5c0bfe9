{{- /*
Checks of combinations values.schema.json cannot express, each failing the render with what is
wrong and what to do. Included from configmap.yaml (whose rendering the pod template's checksum
repeats); validateAuth, which renders the pod template itself, from statefulset.yaml.
*/ -}}

{{- define "redis-cluster-agent.validate" -}}
{{- include "redis-cluster-agent.validateNames" . -}}
{{- include "redis-cluster-agent.validateCluster" . -}}
{{- include "redis-cluster-agent.validateTimeBudget" . -}}
{{- include "redis-cluster-agent.validateRedisConfig" . -}}
{{- include "redis-cluster-agent.validateService" . -}}
{{- if and .Values.metrics.podMonitor.enabled .Values.metrics.serviceMonitor.enabled -}}
{{- fail "metrics.podMonitor.enabled and metrics.serviceMonitor.enabled are both true: Prometheus would scrape every pod twice and every alert would fire twice; enable one (the PodMonitor needs no Service)" -}}
{{- end -}}
{{- include "redis-cluster-agent.validateTls" . -}}
{{- include "redis-cluster-agent.validateServer" . -}}
{{- include "redis-cluster-agent.validateScaling" . -}}
{{- end -}}

{{- /*
A hook Job killed at its deadline while the verb still waits would fail the upgrade with no word
from the verb: the Job's bound must leave the verb its waits and some time to move slots.
*/ -}}
{{- define "redis-cluster-agent.validateScaling" -}}
{{- $h := .Values.scaling.hooks -}}
{{- if and $h.enabled (le (int $h.activeDeadlineSeconds) (int $h.waitSeconds)) -}}
{{- fail (printf "scaling.hooks.activeDeadlineSeconds (%d) must be more than scaling.hooks.waitSeconds (%d): the Job would be killed while the scale verb still waits, before it can say why; raise activeDeadlineSeconds (moving a million keys takes about a minute more)" (int $h.activeDeadlineSeconds) (int $h.waitSeconds)) -}}
{{- end -}}
{{- end -}}

{{- /*
server: valkey runs valkey-server and valkey-cli, which a Redis image does not have: the pods
would crash-loop on "executable file not found". The preset covers redis.image left at its
defaults; an image the user set must be a Valkey one, with a tag of its own.
*/ -}}
{{- define "redis-cluster-agent.validateServer" -}}
{{- $i := .Values.redis.image -}}
{{- if and (eq .Values.server "valkey") (not (include "redis-cluster-agent.redisImageIsDefault" .)) -}}
{{- if eq $i.repository "library/redis" -}}
{{- fail "server=valkey runs valkey-server, which the Redis image library/redis does not have: set redis.image.repository to a Valkey image (e.g. valkey/valkey), or leave redis.image at its defaults for the official valkey/valkey:8.0" -}}
{{- end -}}
{{- if and (eq (toString $i.tag) "7.0.15") (not $i.digest) -}}
{{- fail (printf "server=valkey with redis.image.repository=%s: redis.image.tag is still the chart's Redis tag 7.0.15; set the Valkey tag of your image (e.g. 8.0) or redis.image.digest" $i.repository) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.validateNames" -}}
{{- $full := include "redis-cluster-agent.fullname" . -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $full) -}}
{{- fail (printf "the resource name %q (from the release name %q) is not a valid Service name (lowercase letters, digits and '-', starting with a letter, no dots): set fullnameOverride" $full .Release.Name) -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.validateCluster" -}}
{{- $c := .Values.cluster -}}
{{- $min := mul 3 (add1 (int $c.replicas)) -}}
{{- if lt (int $c.nodes) (int $min) -}}
{{- fail (printf "cluster.nodes=%v with cluster.replicas=%v gives fewer than 3 masters; Redis Cluster needs cluster.nodes >= %v" $c.nodes $c.replicas $min) -}}
{{- end -}}
{{- end -}}

{{- /*
The kubelet counts the preStop (the handover) and Redis' own shutdown against one grace period.
The handover client gives up 5 s after handover.timeout; Redis waits up to shutdown-timeout for
its replicas, then saves; 5 s more is the least left for that save and the exit.
*/ -}}
{{- define "redis-cluster-agent.validateTimeBudget" -}}
{{- $handover := 0 -}}
{{- if .Values.handover.enabled -}}
{{- $ms := include "redis-cluster-agent.durationMs" .Values.handover.timeout | int64 -}}
{{- if or (lt $ms 1000) (gt $ms 300000) -}}
{{- fail (printf "handover.timeout=%s is outside what the agent accepts (1s to 5m); below 8s there is no room for the forced failover fallback" .Values.handover.timeout) -}}
{{- end -}}
{{- $handover = add (div (add $ms 999) 1000) 5 -}}
{{- end -}}
{{- $shutdown := int .Values.redis.shutdownTimeout -}}
{{- $need := add $handover $shutdown 5 -}}
{{- $grace := int .Values.terminationGracePeriodSeconds -}}
{{- if lt $grace $need -}}
{{- if .Values.handover.enabled -}}
{{- fail (printf "terminationGracePeriodSeconds=%d is too short: the handover (handover.timeout=%s + 5s the client may wait beyond it = %ds) + redis.shutdownTimeout (%ds) + 5s for Redis' final save need %ds; raise terminationGracePeriodSeconds to at least %d (more for a dataset that takes longer to save), or lower handover.timeout or redis.shutdownTimeout" $grace .Values.handover.timeout $handover $shutdown $need $need) -}}
{{- else -}}
{{- fail (printf "terminationGracePeriodSeconds=%d is too short: redis.shutdownTimeout (%ds) + 5s for Redis' final save need %ds; raise terminationGracePeriodSeconds to at least %d" $grace $shutdown $need $need) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /*
redis.extraConfig is appended to redis.conf, where the last line of a directive wins: a line
for something the chart manages would silently undo a value (or break the pod), so it is refused
with the value to use instead.
*/ -}}
{{- define "redis-cluster-agent.validateRedisConfig" -}}
{{- $managed := dict
  "port" "nothing: the chart's Services and probes use 6379"
  "bind" "nothing: every pod address is needed"
  "protected-mode" "auth.enabled"
  "dir" "nothing: the data volume is mounted there"
  "cluster-enabled" "nothing: this is a Redis Cluster chart"
  "cluster-config-file" "nothing: the agent repairs that file"
  "cluster-node-timeout" "cluster.nodeTimeout"
  "cluster-require-full-coverage" "cluster.requireFullCoverage"
  "cluster-announce-ip" "nothing: prepare sets the pod IP"
  "cluster-announce-human-nodename" "server: valkey (prepare sets the pod name; Redis 7.0 refuses the directive)"
  "appendonly" "redis.appendonly"
  "shutdown-timeout" "redis.shutdownTimeout"
  "requirepass" "auth.*"
  "masterauth" "auth.*"
  "maxmemory-policy" "redis.maxmemoryPolicy" -}}
{{- if include "redis-cluster-agent.maxmemoryFromLimit" . -}}
{{- $_ := set $managed "maxmemory" "redis.maxmemoryPercent (or redis.maxmemoryPercent=0 to set maxmemory here)" -}}
{{- end -}}
{{- range $line := splitList "\n" (.Values.redis.extraConfig | default "") -}}
{{- $directive := regexReplaceAll "^\\s*([A-Za-z-]+).*$" $line "${1}" | lower -}}
{{- if hasKey $managed $directive -}}
{{- fail (printf "redis.extraConfig sets %q, which the chart manages: use %s" $directive (get $managed $directive)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.validateService" -}}
{{- $s := .Values.service -}}
{{- $external := or (eq $s.type "NodePort") (eq $s.type "LoadBalancer") -}}
{{- if and (not $external) (dig "nodePorts" "redis" "" $s) -}}
{{- fail (printf "service.nodePorts.redis is set but service.type is %s; node ports need NodePort or LoadBalancer" $s.type) -}}
{{- end -}}
{{- if and (ne $s.type "LoadBalancer") $s.loadBalancerSourceRanges -}}
{{- fail (printf "service.loadBalancerSourceRanges is set but service.type is %s; it applies to LoadBalancer only" $s.type) -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.validateAuth" -}}
{{- if and .Values.auth.password .Values.auth.existingSecret -}}
{{- fail "auth.password and auth.existingSecret are both set: the password comes from one place; keep auth.existingSecret (the password stays out of the Helm release) or auth.password" -}}
{{- end -}}
{{- $change := include "redis-cluster-agent.authChange" . -}}
{{- $onDelete := eq (dig "type" "RollingUpdate" .Values.updateStrategy) "OnDelete" -}}
{{- if and (hasPrefix "toggle: " $change) (not $onDelete) -}}
{{- fail (printf "refusing this upgrade: %s. A rolling update would leave pods with and without a password, unable to replicate from each other, until the last pod restarted. Keep the current setting, or make the change with a full restart (README, \"Changing authentication on a running cluster\")" (trimPrefix "toggle: " $change)) -}}
{{- end -}}
{{- /*
A new password alone changes only the Secret's content, which the pods do not restart for: the
kubelet refreshes the mounted file and the agents rotate the running cluster to it. Pods that
restart onto it one at a time would not accept the old password their peers and clients still
use.
*/ -}}
{{- if hasPrefix "password: " $change -}}
{{- $roll := include "redis-cluster-agent.podsRoll" . -}}
{{- if and $roll (not $onDelete) -}}
{{- fail (printf "refusing this upgrade: %s, and %s: pods restarted onto the new password one at a time would refuse the old one that their peers and clients still use. Change the password in an upgrade of its own (nothing else changed: the pods keep running and the agents rotate the cluster to it, README \"Password rotation\"), then make the other changes; or make both with a full restart (README, \"Changing authentication on a running cluster\")" (trimPrefix "password: " $change) $roll) -}}
{{- end -}}
{{- end -}}
{{- end -}}
