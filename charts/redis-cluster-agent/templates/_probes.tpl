{{- /*
Probes: the one place that knows the agent's HTTP endpoints (served by `run` on --http-addr:
/startupz, /livez, /readyz, /metrics; see the README's probe section).
- agent container: startupProbe /startupz (in native mode it gates Redis' start, so it must not
  depend on Redis), livenessProbe /livez (the agent's own loop).
- redis container: readinessProbe /readyz on the agent's port, numeric because a probe's named
  port resolves only among its own container's ports; livenessProbe is redis-cli (valkey-cli) PING inside the
  redis container and never goes through the agent, so a dead agent never restarts Redis.
*/ -}}

{{- define "redis-cluster-agent.metricsPath" -}}/metrics{{- end -}}

{{- define "redis-cluster-agent.agentProbes" -}}
{{- with .Values.agent.startupProbe }}
{{- if .enabled }}
startupProbe:
  httpGet:
    path: /startupz
    port: http-agent
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- with .Values.agent.livenessProbe }}
{{- if .enabled }}
livenessProbe:
  httpGet:
    path: /livez
    port: http-agent
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- end -}}

{{- /*
Redis is alive when it answers PING with PONG, or with an error that proves its event loop runs:
LOADING (a big dataset), MASTERDOWN (replica of a failed master), NOAUTH (auth is on; the probe
holds no password). `timeout` ends redis-cli before the kubelet gives up on the probe.
*/ -}}
{{- define "redis-cluster-agent.redisLivenessScript" -}}
{{- $cli := include "redis-cluster-agent.serverCli" . -}}
out=$(timeout {{ max 1 (sub (int .Values.redis.livenessProbe.timeoutSeconds) 1) }} {{ $cli }}{{ include "redis-cluster-agent.redisCliTls" . }} -h 127.0.0.1 -p {{ include "redis-cluster-agent.redisPort" . }} ping 2>&1); case "$out" in PONG|LOADING*|MASTERDOWN*|NOAUTH*) exit 0;; esac; echo "{{ $cli }} ping: $out"; exit 1
{{- end -}}

{{- define "redis-cluster-agent.redisProbes" -}}
{{- with .Values.redis.readinessProbe }}
{{- if .enabled }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ $.Values.agent.httpPort }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
  successThreshold: {{ .successThreshold }}
{{- end }}
{{- end }}
{{- with .Values.redis.livenessProbe }}
{{- if .enabled }}
livenessProbe:
  exec:
    command:
      - sh
      - -c
      - {{ include "redis-cluster-agent.redisLivenessScript" $ | quote }}
  initialDelaySeconds: {{ .initialDelaySeconds }}
  periodSeconds: {{ .periodSeconds }}
  timeoutSeconds: {{ .timeoutSeconds }}
  failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end }}
{{- end -}}
