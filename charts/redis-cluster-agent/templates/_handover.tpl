{{- /*
Handover: the one place that knows how the redis container reaches the agent before it stops.
The redis container's preStop runs the handover client, a small statically linked program (no
libraries, so it runs in the Debian and Alpine redis images alike) that the agent copies into
the shared runtime directory when it starts; it talks to the running agent over the unix socket
there, so nothing on the network can trigger a failover.
terminationGracePeriodSeconds covers handover.timeout + redis.shutdownTimeout + margin.
*/ -}}

{{- define "redis-cluster-agent.handoverCommand" -}}
- {{ include "redis-cluster-agent.runtimeDir" . }}/handover
- --runtime-dir={{ include "redis-cluster-agent.runtimeDir" . }}
- --timeout={{ .Values.handover.timeout }}
{{- end -}}

{{- define "redis-cluster-agent.redisLifecycle" -}}
{{- if .Values.handover.enabled }}
lifecycle:
  preStop:
    exec:
      command:
        {{- include "redis-cluster-agent.handoverCommand" . | nindent 8 }}
{{- end }}
{{- end -}}
