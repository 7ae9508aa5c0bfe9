{{- /*
Names, labels, images and paths shared by every template. The interfaces owned by other parts
of the project live in their own files: _probes.tpl (the agent's HTTP endpoints), _handover.tpl
(the preStop handover), _auth.tpl (the password and its Secret), _validate.tpl (checks of
combinations the schema cannot express).
*/ -}}

{{- define "redis-cluster-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /*
<release>-<chart>, or the release name alone when it already contains the chart name. At most
52 characters: the StatefulSet's name, plus "-<hash>" (11), is its pods' controller-revision-hash
label, and a label value has at most 63. A longer name keeps its first 45 characters plus "-" and
6 hex digits of its sha256, so two long release names that share a prefix still differ, and the
same release always gets the same name. Everything else is derived from this name and fits:
"<fullname>-headless" (61), "<fullname>-config" (59), "<fullname>-client" (a label key, 59),
pods "<fullname>-<ordinal>".
*/ -}}
{{- define "redis-cluster-agent.fullname" -}}
{{- $full := "" -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full = ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name) -}}
{{- end -}}
{{- if gt (len $full) 52 -}}
{{- printf "%s-%s" (regexReplaceAll "[-.]+$" ($full | trunc 45) "") (sha256sum $full | trunc 6) -}}
{{- else -}}
{{- $full -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "redis-cluster-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "redis-cluster-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Labels every object carries except the helm test pod (see testLabels). */ -}}
{{- define "redis-cluster-agent.labels" -}}
{{ include "redis-cluster-agent.selectorLabels" . }}
{{ include "redis-cluster-agent.releaseLabels" . }}
{{- end -}}

{{- define "redis-cluster-agent.releaseLabels" -}}
helm.sh/chart: {{ include "redis-cluster-agent.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /*
The helm test pod's labels: the release's, but never the selector labels. A pod that matched the
StatefulSet's selector would count in the PodDisruptionBudget (a pod without a controller makes
it allow no disruption at all, which blocks node drains), join the Services' endpoints and repel
Redis pods under the hard anti-affinity preset.
*/ -}}
{{- define "redis-cluster-agent.testLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{ include "redis-cluster-agent.releaseLabels" . }}
{{ include "redis-cluster-agent.clientLabel" . }}: "true"
{{- end -}}

{{- /*
The scaling hook Jobs' pods (scale-hooks.yaml): the release's labels, never the selector labels
(see testLabels); scaleSelectorLabels is what the hook NetworkPolicy admits.
*/ -}}
{{- define "redis-cluster-agent.scaleSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: scale
{{- end -}}

{{- define "redis-cluster-agent.scaleLabels" -}}
{{ include "redis-cluster-agent.scaleSelectorLabels" . }}
{{ include "redis-cluster-agent.releaseLabels" . }}
{{- end -}}

{{- /* metadata.annotations of every object, when there are any. */ -}}
{{- define "redis-cluster-agent.annotations" -}}
{{- $all := merge (dict) (.extra | default dict) .root.Values.commonAnnotations -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- /*
The ConfigMap with redis.conf. Not "<fullname>": that is the name a StatefulSet's own ConfigMap
usually has (the tutorial's is "redis-cluster"), and taking it over would change the files of
pods the chart does not run yet (README, "Coming from the tutorial").
*/ -}}
{{- /* The shape of the cluster (cluster.nodes, cluster.replicas) lives in a ConfigMap of its own,
mounted into every agent container: the agents follow it while they run (--shape-file), so a
change of size changes no pod template field and restarts no pod. */ -}}
{{- define "redis-cluster-agent.shapeName" -}}
{{- printf "%s-shape" (include "redis-cluster-agent.fullname" .) -}}
{{- end -}}

{{- define "redis-cluster-agent.shapeDir" -}}
/etc/redis-cluster-agent/shape
{{- end -}}

{{- define "redis-cluster-agent.configName" -}}
{{- printf "%s-config" (include "redis-cluster-agent.fullname" .) -}}
{{- end -}}

{{- define "redis-cluster-agent.headlessName" -}}
{{- printf "%s-headless" (include "redis-cluster-agent.fullname" .) -}}
{{- end -}}

{{- /* Namespaces that may scrape the agent port: networkPolicy.metrics.namespaceSelector, or the chart's label. */ -}}
{{- define "redis-cluster-agent.metricsNamespaceSelector" -}}
{{- $sel := .Values.networkPolicy.metrics.namespaceSelector | default (dict "matchLabels" (dict "redis-cluster-agent-scrape" "true")) -}}
{{- toYaml $sel -}}
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

{{- /* An image reference; global.imageRegistry, when set, replaces every image's registry. */ -}}
{{- define "redis-cluster-agent.image" -}}
{{- $registry := .image.registry -}}
{{- with (dig "imageRegistry" "" (.global | default dict)) -}}
{{- $registry = . -}}
{{- end -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" $registry .image.repository -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.image.tag | default .defaultTag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.agentImage" -}}
{{- include "redis-cluster-agent.image" (dict "image" .Values.agent.image "defaultTag" .Chart.AppVersion "global" .Values.global) -}}
{{- end -}}

{{- /*
The server preset: redis.image at its Redis defaults (library/redis:7.0.15, no digest) means the
official valkey/valkey:8.0 when server is valkey; an image the user chose stays as it is
(validateServer refuses a Redis repository or tag left behind).
*/ -}}
{{- define "redis-cluster-agent.redisImage" -}}
{{- $image := .Values.redis.image -}}
{{- if and (eq .Values.server "valkey") (include "redis-cluster-agent.redisImageIsDefault" .) -}}
{{- $image = merge (dict "repository" "valkey/valkey" "tag" "8.0") (omit $image "repository" "tag") -}}
{{- end -}}
{{- include "redis-cluster-agent.image" (dict "image" $image "defaultTag" "" "global" .Values.global) -}}
{{- end -}}

{{- /* "true" when redis.image names the chart's default Redis image. */ -}}
{{- define "redis-cluster-agent.redisImageIsDefault" -}}
{{- $i := .Values.redis.image -}}
{{- if and (eq $i.repository "library/redis") (eq (toString $i.tag) "7.0.15") (not $i.digest) -}}
true
{{- end -}}
{{- end -}}

{{- /* The server's binary and CLI in the redis container's image (server: redis | valkey). */ -}}
{{- define "redis-cluster-agent.serverBinary" -}}
{{- ternary "valkey-server" "redis-server" (eq .Values.server "valkey") -}}
{{- end -}}

{{- define "redis-cluster-agent.serverCli" -}}
{{- ternary "valkey-cli" "redis-cli" (eq .Values.server "valkey") -}}
{{- end -}}

{{- /*
imagePullSecrets of the pods: global.imagePullSecrets, then imagePullSecrets, each entry a
Secret name or {name: ...}, without duplicates.
*/ -}}
{{- define "redis-cluster-agent.imagePullSecrets" -}}
{{- $names := list -}}
{{- $global := dig "imagePullSecrets" list (.Values.global | default dict) -}}
{{- range (concat ($global | default list) (.Values.imagePullSecrets | default list)) -}}
{{- $n := . -}}
{{- if kindIs "map" . -}}
{{- $n = .name -}}
{{- end -}}
{{- if and $n (not (has $n $names)) -}}
{{- $names = append $names $n -}}
{{- end -}}
{{- end -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end }}
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

{{- /* A duration like "20s", "500ms", "1m" or "1h" (the schema's pattern) in milliseconds. */ -}}
{{- define "redis-cluster-agent.durationMs" -}}
{{- $n := regexReplaceAll "^([0-9]+)(ms|s|m|h)$" . "${1}" | int64 -}}
{{- $unit := regexReplaceAll "^([0-9]+)(ms|s|m|h)$" . "${2}" -}}
{{- mul $n (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit) -}}
{{- end -}}
