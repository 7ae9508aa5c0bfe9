{{- /*
Handover: the one place that knows how the redis container reaches the agent before it stops.
The redis container's preStop runs the agent binary (`handover`), which talks to the running
agent over the unix socket in the shared runtime directory; nothing on the network can trigger
it. The binary comes from the agent image: the install-agent init container copies its
self-contained tree (own loader and libraries, so it runs in the Debian and Alpine redis images)
into an emptyDir that the redis container mounts read-only at the same path.
terminationGracePeriodSeconds covers handover.timeout + redis.shutdownTimeout + margin.
*/ -}}

{{- define "redis-cluster-agent.handoverCommand" -}}
- {{ include "redis-cluster-agent.agentBinary" . }}
- handover
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

{{- define "redis-cluster-agent.installAgentContainer" -}}
{{- if .Values.handover.enabled }}
- name: install-agent
  image: {{ include "redis-cluster-agent.agentImage" . }}
  imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
  command:
    - cp
    - -R
    - {{ include "redis-cluster-agent.agentHome" . }}/.
    - /agent-bundle/
  {{- with .Values.agent.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: agent-bundle
      mountPath: /agent-bundle
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.redisBundleMount" -}}
{{- if .Values.handover.enabled }}
- name: agent-bundle
  mountPath: {{ include "redis-cluster-agent.agentHome" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.bundleVolume" -}}
{{- if .Values.handover.enabled }}
- name: agent-bundle
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
{{- end -}}
