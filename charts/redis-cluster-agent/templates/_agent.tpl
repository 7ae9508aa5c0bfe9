{{- /*
The agent's invocation. Settings travel as AGENT_* environment variables (flags and variables
are interchangeable, see the README's configuration table) so that `kubectl exec ... -c agent
-- redis-cluster-agent status` inherits them and needs no flags. Variables a command does not
use are ignored by it; unknown AGENT_* variables stop the agent. Addresses use the pod IP: Redis
listens on every address, and the agent's listener answers the kubelet's probes and its peers.
*/ -}}

{{- define "redis-cluster-agent.agentEnv" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: AGENT_REDIS_ADDR
  value: "$(POD_IP):{{ include "redis-cluster-agent.redisPort" . }}"
- name: AGENT_HTTP_ADDR
  value: "$(POD_IP):{{ .Values.agent.httpPort }}"
- name: AGENT_PEER_HOST_TEMPLATE
  value: {{ include "redis-cluster-agent.peerHostTemplate" . | quote }}
{{- /* cluster.nodes and cluster.replicas reach the agents through this file, not the pod template. */}}
- name: AGENT_SHAPE_FILE
  value: "{{ include "redis-cluster-agent.shapeDir" . }}/shape"
- name: AGENT_NODES_CONF
  value: {{ include "redis-cluster-agent.nodesConf" . | quote }}
- name: AGENT_INCLUDE_FILE
  value: {{ include "redis-cluster-agent.includeFile" . | quote }}
- name: AGENT_RUNTIME_DIR
  value: {{ include "redis-cluster-agent.runtimeDir" . | quote }}
{{- /* Only for Valkey: Redis pods keep the pod template they had (no roll on a chart upgrade). */}}
{{- if eq .Values.server "valkey" }}
- name: AGENT_SERVER
  value: "valkey"
{{- end }}
{{- if .Values.auth.enabled }}
- name: AGENT_REDIS_PASSWORD_FILE
  value: {{ include "redis-cluster-agent.passwordFile" . | quote }}
{{- end }}
{{- if .Values.tls.enabled }}
{{ include "redis-cluster-agent.tlsAgentEnv" . }}
{{- end }}
- name: AGENT_MODE
  value: {{ .Values.agent.mode | quote }}
- name: AGENT_POLL_INTERVAL
  value: {{ .Values.agent.pollInterval | quote }}
- name: AGENT_LAYOUT_KEEPER
  value: {{ .Values.agent.layoutKeeper | quote }}
- name: AGENT_LAYOUT_QUIET_PERIOD
  value: {{ .Values.agent.layoutQuietPeriod | quote }}
{{- with .Values.agent.zoneLabel }}
- name: AGENT_ZONE
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['{{ . }}']
{{- end }}
- name: AGENT_LOG_FORMAT
  value: {{ .Values.agent.logFormat | quote }}
- name: AGENT_LOG_LEVEL
  value: {{ .Values.agent.logLevel | quote }}
{{- with .Values.agent.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* env and envFrom of every agent container (prepare and the sidecar). */ -}}
{{- define "redis-cluster-agent.agentEnvBlock" -}}
env:
  {{- include "redis-cluster-agent.agentEnv" . | nindent 2 }}
{{- with .Values.agent.extraEnvFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.agentMounts" -}}
- name: data
  mountPath: {{ include "redis-cluster-agent.dataDir" . }}
- name: runtime
  mountPath: {{ include "redis-cluster-agent.runtimeDir" . }}
- name: shape
  mountPath: {{ include "redis-cluster-agent.shapeDir" . }}
  readOnly: true
{{- if .Values.auth.enabled }}
{{ include "redis-cluster-agent.passwordMount" . }}
{{- end }}
{{- if .Values.tls.enabled }}
{{ include "redis-cluster-agent.tlsMount" . }}
{{- end }}
{{- end -}}

{{- /* prepare: repairs nodes.conf and writes the auth include before Redis starts. */ -}}
{{- define "redis-cluster-agent.prepareContainer" -}}
- name: prepare
  image: {{ include "redis-cluster-agent.agentImage" . }}
  imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
  command:
    - {{ include "redis-cluster-agent.agentBinary" . }}
  args:
    - prepare
  {{- include "redis-cluster-agent.agentEnvBlock" . | nindent 2 }}
  {{- with .Values.agent.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "redis-cluster-agent.agentMounts" . | nindent 4 }}
{{- end -}}

{{- /* The sidecar; restartPolicy Always makes it a native sidecar when listed in initContainers. */ -}}
{{- define "redis-cluster-agent.agentContainer" -}}
- name: agent
  image: {{ include "redis-cluster-agent.agentImage" . }}
  imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
  {{- if include "redis-cluster-agent.nativeSidecar" . }}
  restartPolicy: Always
  {{- end }}
  command:
    - {{ include "redis-cluster-agent.agentBinary" . }}
  args:
    - run
  {{- include "redis-cluster-agent.agentEnvBlock" . | nindent 2 }}
  ports:
    - name: http-agent
      containerPort: {{ .Values.agent.httpPort }}
      protocol: TCP
  {{- with (include "redis-cluster-agent.agentProbes" . | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.agent.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "redis-cluster-agent.agentMounts" . | nindent 4 }}
{{- end -}}
