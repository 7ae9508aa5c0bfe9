{{- /*
The redis container: the official image's redis-server (valkey-server with server: valkey) with
the chart's redis.conf (configmap.yaml; Valkey reads the same directives).
*/ -}}

{{- /* "true" when maxmemory follows the redis container's memory limit, "" otherwise. */ -}}
{{- define "redis-cluster-agent.maxmemoryFromLimit" -}}
{{- if and (gt (int .Values.redis.maxmemoryPercent) 0) (dig "limits" "memory" "" (.Values.redis.resources | default dict)) -}}
true
{{- end -}}
{{- end -}}

{{- /*
With a memory limit, maxmemory is redis.maxmemoryPercent of it, so Redis refuses writes or evicts
(redis.maxmemoryPolicy) before the kernel kills it. The downward API gives the limit in bytes;
redis.conf cannot compute, so a POSIX sh (the official Debian and Alpine images both have one)
does, and passes the result as an argument, which Redis applies after the file. `exec` leaves
redis-server as the container's process, which gets the kubelet's SIGTERM; extra arguments
("$@") reach redis-server too.
*/ -}}
{{- define "redis-cluster-agent.redisCommand" -}}
{{- $conf := printf "%s/redis.conf" (include "redis-cluster-agent.configDir" .) -}}
{{- $server := include "redis-cluster-agent.serverBinary" . -}}
{{- if include "redis-cluster-agent.maxmemoryFromLimit" . -}}
- sh
- -c
- {{ printf "exec %s %s --maxmemory \"$((REDIS_MEMORY_LIMIT * %d / 100))\" \"$@\"" $server $conf (int .Values.redis.maxmemoryPercent) | quote }}
- {{ $server }}
{{- else -}}
- {{ $server }}
- {{ $conf }}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.redisEnv" -}}
{{- if include "redis-cluster-agent.maxmemoryFromLimit" . }}
- name: REDIS_MEMORY_LIMIT
  valueFrom:
    resourceFieldRef:
      containerName: redis
      resource: limits.memory
{{- end }}
{{- with .Values.redis.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.redisContainer" -}}
- name: redis
  image: {{ include "redis-cluster-agent.redisImage" . }}
  imagePullPolicy: {{ .Values.redis.image.pullPolicy }}
  command:
    {{- include "redis-cluster-agent.redisCommand" . | nindent 4 }}
  {{- with (include "redis-cluster-agent.redisEnv" . | trim) }}
  env:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.redis.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: redis
      containerPort: {{ include "redis-cluster-agent.redisPort" . }}
      protocol: TCP
    - name: redis-bus
      containerPort: {{ include "redis-cluster-agent.busPort" . }}
      protocol: TCP
  {{- with (include "redis-cluster-agent.redisProbes" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with (include "redis-cluster-agent.redisLifecycle" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.redis.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: {{ include "redis-cluster-agent.dataDir" . }}
    - name: runtime
      mountPath: {{ include "redis-cluster-agent.runtimeDir" . }}
    - name: config
      mountPath: {{ include "redis-cluster-agent.configDir" . }}
      readOnly: true
    {{- if .Values.tls.enabled }}
    {{- include "redis-cluster-agent.tlsMount" . | nindent 4 }}
    {{- end }}
    {{- with .Values.redis.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
