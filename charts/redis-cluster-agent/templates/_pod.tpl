{{- /*
The pod template of the StatefulSet. Its own template so the upgrade checks can tell whether an
upgrade rolls the pods: statefulset.yaml records its SHA-256 in an annotation of the StatefulSet
(not of the pods), and validateAuth compares the live one with this rendering (_auth.tpl).
*/ -}}
{{- define "redis-cluster-agent.podTemplateSum" -}}
{{- include "redis-cluster-agent.podTemplate" . | sha256sum -}}
{{- end -}}

{{- define "redis-cluster-agent.podTemplate" -}}
metadata:
  labels:
    {{- include "redis-cluster-agent.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    kubectl.kubernetes.io/default-container: redis
    {{- if .Values.metrics.scrapeAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ .Values.agent.httpPort | quote }}
    prometheus.io/path: {{ include "redis-cluster-agent.metricsPath" . | quote }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "redis-cluster-agent.serviceAccountName" . }}
  automountServiceAccountToken: false
  # No Service environment variables: a Service named agent-* would inject AGENT_* variables,
  # and the agent refuses unknown ones.
  enableServiceLinks: false
  {{- with (include "redis-cluster-agent.imagePullSecrets" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (include "redis-cluster-agent.affinity" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with (include "redis-cluster-agent.topologySpread" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  initContainers:
    {{- with .Values.initContainers }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
    {{- include "redis-cluster-agent.prepareContainer" . | nindent 4 }}
    {{- if include "redis-cluster-agent.nativeSidecar" . }}
    {{- include "redis-cluster-agent.agentContainer" . | nindent 4 }}
    {{- end }}
  containers:
    {{- include "redis-cluster-agent.redisContainer" . | nindent 4 }}
    {{- if not (include "redis-cluster-agent.nativeSidecar" .) }}
    {{- include "redis-cluster-agent.agentContainer" . | nindent 4 }}
    {{- end }}
    {{- with .Values.sidecars }}
    {{- tpl (toYaml .) $ | nindent 4 }}
    {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "redis-cluster-agent.configName" . }}
    - name: shape
      configMap:
        name: {{ include "redis-cluster-agent.shapeName" . }}
    - name: runtime
      emptyDir:
        medium: Memory
        sizeLimit: 8Mi
    {{- if .Values.auth.enabled }}
    {{- include "redis-cluster-agent.passwordVolume" . | nindent 4 }}
    {{- end }}
    {{- if .Values.tls.enabled }}
    {{- include "redis-cluster-agent.tlsVolume" . | nindent 4 }}
    {{- end }}
    {{- if not .Values.persistence.enabled }}
    - name: data
      emptyDir: {}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
