{{- /* Scheduling presets: podAntiAffinityPreset and topologySpreadPreset (values.yaml). */ -}}

{{- define "redis-cluster-agent.affinity" -}}
{{- if .Values.affinity }}
affinity:
  {{- toYaml .Values.affinity | nindent 2 }}
{{- else if eq .Values.podAntiAffinityPreset "soft" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "redis-cluster-agent.selectorLabels" . | nindent 14 }}
{{- else if eq .Values.podAntiAffinityPreset "hard" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "redis-cluster-agent.selectorLabels" . | nindent 12 }}
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.topologySpread" -}}
{{- if .Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .Values.topologySpreadConstraints | nindent 2 }}
{{- else if .Values.topologySpreadPreset }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: {{ ternary "topology.kubernetes.io/zone" "kubernetes.io/hostname" (eq .Values.topologySpreadPreset "zone") }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "redis-cluster-agent.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}
