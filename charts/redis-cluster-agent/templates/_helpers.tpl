{{- /*
Names, labels, images, paths and checks shared by every template. The interfaces owned by
other parts of the project live in their own files: _probes.tpl (the agent's HTTP endpoints)
and _handover.tpl (the preStop handover and the agent binary shared into the redis container).
*/ -}}

{{- define "redis-cluster-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* <release>-<chart>, or the release name alone when it already contains the chart name. */ -}}
{{- define "redis-cluster-agent.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redis-cluster-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redis-cluster-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "redis-cluster-agent.labels" -}}
helm.sh/chart: {{ include "redis-cluster-agent.chart" . }}
{{ include "redis-cluster-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* metadata.annotations of every object, when there are any. */ -}}
{{- define "redis-cluster-agent.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) .root.Values.commonAnnotations -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "redis-cluster-agent.headlessName" -}}
{{- printf "%s-headless" (include "redis-cluster-agent.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Pods labelled with this may reach Redis when networkPolicy.allowExternal is false. */ -}}
{{- define "redis-cluster-agent.clientLabel" -}}
{{- printf "%s-client" (include "redis-cluster-agent.fullname" .) -}}
{{- end -}}

{{- define "redis-cluster-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "redis-cluster-agent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- /* The DNS name of pod {ordinal}, through the headless Service (the agent's --peer-host-template). */ -}}
{{- define "redis-cluster-agent.peerHostTemplate" -}}
{{- printf "%s-{ordinal}.%s.%s.svc.%s" (include "redis-cluster-agent.fullname" .) (include "redis-cluster-agent.headlessName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "redis-cluster-agent.image" -}}
{{- $ref := .image.repository -}}
{{- if .image.registry -}}
{{- $ref = printf "%s/%s" .image.registry .image.repository -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.image.tag | default .defaultTag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.agentImage" -}}
{{- include "redis-cluster-agent.image" (dict "image" .Values.agent.image "defaultTag" .Chart.AppVersion) -}}
{{- end -}}

{{- define "redis-cluster-agent.redisImage" -}}
{{- include "redis-cluster-agent.image" (dict "image" .Values.redis.image "defaultTag" "") -}}
{{- end -}}

{{- /* "true" when the agent runs as a native sidecar (Kubernetes >= 1.29), "" otherwise. */ -}}
{{- define "redis-cluster-agent.nativeSidecar" -}}
{{- $mode := .Values.agent.sidecarMode -}}
{{- if eq $mode "native" -}}
true
{{- else if and (eq $mode "auto") (semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version) -}}
true
{{- end -}}
{{- end -}}

{{- /*
Paths inside the containers. Redis' redis.conf, the agent's flags and the volume mounts all take
them from here, so they cannot drift apart.
*/ -}}
{{- define "redis-cluster-agent.dataDir" -}}/data{{- end -}}
{{- define "redis-cluster-agent.nodesConf" -}}{{ include "redis-cluster-agent.dataDir" . }}/nodes.conf{{- end -}}
{{- define "redis-cluster-agent.runtimeDir" -}}/run/redis-cluster-agent{{- end -}}
{{- define "redis-cluster-agent.includeFile" -}}{{ include "redis-cluster-agent.runtimeDir" . }}/redis-auth.conf{{- end -}}
{{- define "redis-cluster-agent.configDir" -}}/usr/local/etc/redis{{- end -}}
{{- define "redis-cluster-agent.secretDir" -}}/run/secrets/redis-cluster-agent{{- end -}}
{{- define "redis-cluster-agent.passwordFile" -}}{{ include "redis-cluster-agent.secretDir" . }}/password{{- end -}}
{{- /* The agent image's self-contained tree (Dockerfile, scripts/bundle-agent.sh). */ -}}
{{- define "redis-cluster-agent.agentHome" -}}/opt/redis-cluster-agent{{- end -}}
{{- define "redis-cluster-agent.agentBinary" -}}{{ include "redis-cluster-agent.agentHome" . }}/bin/redis-cluster-agent{{- end -}}

{{- /* Redis' ports. */ -}}
{{- define "redis-cluster-agent.redisPort" -}}6379{{- end -}}
{{- define "redis-cluster-agent.busPort" -}}16379{{- end -}}

{{- /* Checks of combinations values.schema.json cannot express. */ -}}
{{- define "redis-cluster-agent.validate" -}}
{{- $c := .Values.cluster -}}
{{- $min := mul 3 (add1 (int $c.replicas)) -}}
{{- if lt (int $c.nodes) (int $min) -}}
{{- fail (printf "cluster.nodes=%v with cluster.replicas=%v gives fewer than 3 masters; Redis Cluster needs cluster.nodes >= %v" $c.nodes $c.replicas $min) -}}
{{- end -}}
{{- if .Values.tls -}}
{{- fail "tls: TLS is not supported: the agent's Redis client (hiredis 0.14, Debian 12) has no TLS, so the chart cannot run a TLS cluster (README, \"TLS\")" -}}
{{- end -}}
{{- if and .Values.auth.enabled (not .Values.auth.existingSecret) -}}
{{- fail "auth.enabled needs auth.existingSecret: the name of a Secret holding the password (the chart never stores one)" -}}
{{- end -}}
{{- end -}}
