{{- /*
TLS (tls.enabled): every pod mounts one kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt), from
tls.existingSecret or from the cert-manager Certificate of certificate.yaml. Redis serves only TLS
(port 0, tls-port; the cluster bus and replication too); the agent talks TLS to every Redis with
the same files and reloads them, and Redis' copy, when the Secret changes. The kubelet's probes
and the metrics stay plain HTTP on the agent's port.
*/ -}}

{{- define "redis-cluster-agent.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled -}}
{{- printf "%s-tls" (include "redis-cluster-agent.fullname" .) -}}
{{- else -}}
{{- .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.tlsDir" -}}/run/secrets/redis-cluster-agent-tls{{- end -}}

{{- define "redis-cluster-agent.tlsVolume" -}}
- name: tls
  secret:
    secretName: {{ include "redis-cluster-agent.tlsSecretName" . }}
    defaultMode: 0440
{{- end -}}

{{- define "redis-cluster-agent.tlsMount" -}}
- name: tls
  mountPath: {{ include "redis-cluster-agent.tlsDir" . }}
  readOnly: true
{{- end -}}

{{- /* redis.conf: TLS only, on the usual port numbers. */ -}}
{{- define "redis-cluster-agent.tlsRedisConf" -}}
{{- $dir := include "redis-cluster-agent.tlsDir" . -}}
port 0
tls-port {{ include "redis-cluster-agent.redisPort" . }}
tls-cluster yes
tls-replication yes
tls-auth-clients {{ ternary "yes" "no" .Values.tls.authClients }}
tls-cert-file {{ $dir }}/tls.crt
tls-key-file {{ $dir }}/tls.key
tls-ca-cert-file {{ $dir }}/ca.crt
{{- end -}}

{{- define "redis-cluster-agent.tlsAgentEnv" -}}
{{- $dir := include "redis-cluster-agent.tlsDir" . -}}
- name: AGENT_TLS
  value: "on"
- name: AGENT_TLS_CA_FILE
  value: "{{ $dir }}/ca.crt"
- name: AGENT_TLS_CERT_FILE
  value: "{{ $dir }}/tls.crt"
- name: AGENT_TLS_KEY_FILE
  value: "{{ $dir }}/tls.key"
- name: AGENT_TLS_VERIFY
  value: {{ .Values.tls.verify | quote }}
{{- end -}}

{{- /* redis-cli's flags for the pod's own Redis (the liveness probe). */ -}}
{{- define "redis-cluster-agent.redisCliTls" -}}
{{- if .Values.tls.enabled -}}
{{- $dir := include "redis-cluster-agent.tlsDir" . -}}
{{- printf " --tls --cacert %s/ca.crt --cert %s/tls.crt --key %s/tls.key" $dir $dir $dir -}}
{{- end -}}
{{- end -}}

{{- define "redis-cluster-agent.validateTls" -}}
{{- $t := .Values.tls -}}
{{- if $t.enabled -}}
{{- if and $t.certManager.enabled $t.existingSecret -}}
{{- fail "tls.existingSecret and tls.certManager.enabled are both set: the pods mount one Secret; choose one" -}}
{{- end -}}
{{- if and (not $t.certManager.enabled) (not $t.existingSecret) -}}
{{- fail "tls.enabled needs certificates: set tls.existingSecret to a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt), or tls.certManager.enabled=true with tls.certManager.issuerRef.name (README, \"TLS\")" -}}
{{- end -}}
{{- if and $t.certManager.enabled (not $t.certManager.issuerRef.name) -}}
{{- fail "tls.certManager.enabled needs tls.certManager.issuerRef.name: the cert-manager Issuer or ClusterIssuer that signs the certificates" -}}
{{- end -}}
{{- end -}}
{{- end -}}
