{{- /*
Authentication. The password reaches the pods only as a file: the Secret is mounted as a volume
(never an environment variable or an argument); prepare writes requirepass and masterauth into a
0600 include for redis.conf; the agent and the helm test pod read the file.

The Secret is deliberately not part of the pod template's checksum, so a changed password does
not roll the pods: a rolling restart would leave nodes with different passwords (and the
replication between them broken) until the last pod restarted. The volume has no subPath, so
the kubelet replaces the file in place when the Secret changes; that is where password rotation
hooks in (README, "Password rotation").
*/ -}}

{{- define "redis-cluster-agent.authSecretName" -}}
{{- .Values.auth.existingSecret | default (include "redis-cluster-agent.fullname" .) -}}
{{- end -}}

{{- define "redis-cluster-agent.authSecretKey" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecretPasswordKey -}}
{{- else -}}
redis-password
{{- end -}}
{{- end -}}

{{- /* The password volume of the StatefulSet's pods and the test pod. */ -}}
{{- define "redis-cluster-agent.passwordVolume" -}}
- name: password
  secret:
    secretName: {{ include "redis-cluster-agent.authSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "redis-cluster-agent.authSecretKey" . | quote }}
        path: password
{{- end -}}

{{- define "redis-cluster-agent.passwordMount" -}}
- name: password
  mountPath: {{ include "redis-cluster-agent.secretDir" . }}
  readOnly: true
{{- end -}}

{{- /*
The chart's own Secret's password, base64: auth.password when set, else what the Secret in the
cluster holds already (so `helm upgrade` keeps it), else "" (a new random one is made). Without
access to a cluster (`helm template`) lookup finds nothing, so every rendering makes a new one.
*/ -}}
{{- define "redis-cluster-agent.chartPasswordB64" -}}
{{- if .Values.auth.password -}}
{{- .Values.auth.password | b64enc -}}
{{- else -}}
{{- $live := lookup "v1" "Secret" .Release.Namespace (include "redis-cluster-agent.fullname" .) | default dict -}}
{{- dig "data" "redis-password" "" $live -}}
{{- end -}}
{{- end -}}

{{- /*
The live StatefulSet (lookup), or an empty dict: on install, without cluster access (`helm
template`), or when it does not exist.
*/ -}}
{{- define "redis-cluster-agent.liveStatefulSet" -}}
{{- if .Release.IsUpgrade -}}
{{- lookup "apps/v1" "StatefulSet" .Release.Namespace (include "redis-cluster-agent.fullname" .) | default dict | toJson -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{- /*
What this upgrade would change in the authentication of the running pods, "" when nothing (or
when it cannot be told: no cluster access, a Secret that cannot be found). Read from the live
StatefulSet's password volume and the Secrets it names. Two kinds, told apart by the prefix:
"toggle: " (authentication turned on or off: no rotation can do that) and "password: " (the pods
would read another password: the agents rotate to it without restarts, unless the same upgrade
restarts the pods onto it, see podsRoll).
*/ -}}
{{- define "redis-cluster-agent.authChange" -}}
{{- $sts := include "redis-cluster-agent.liveStatefulSet" . | fromJson -}}
{{- if $sts -}}
{{- $vol := dict -}}
{{- range (dig "spec" "template" "spec" "volumes" list $sts) -}}
{{- if eq .name "password" -}}
{{- $vol = . -}}
{{- end -}}
{{- end -}}
{{- $was := not (empty $vol) -}}
{{- if ne $was .Values.auth.enabled -}}
toggle: authentication would be turned {{ ternary "on" "off" .Values.auth.enabled }} (the running pods have it {{ ternary "on" "off" $was }})
{{- else if $was -}}
{{- $liveName := dig "secret" "secretName" "" $vol -}}
{{- $liveKey := "" -}}
{{- range (dig "secret" "items" list $vol) -}}
{{- $liveKey = .key -}}
{{- end -}}
{{- $livePw := dig "data" $liveKey "" (lookup "v1" "Secret" .Release.Namespace $liveName | default dict) -}}
{{- $name := include "redis-cluster-agent.authSecretName" . -}}
{{- $key := include "redis-cluster-agent.authSecretKey" . -}}
{{- $nextPw := "" -}}
{{- if .Values.auth.existingSecret -}}
{{- $nextPw = dig "data" $key "" (lookup "v1" "Secret" .Release.Namespace $name | default dict) -}}
{{- else -}}
{{- $nextPw = include "redis-cluster-agent.chartPasswordB64" . -}}
{{- end -}}
{{- $where := printf "Secret %s key %s" $liveName $liveKey -}}
{{- if and $livePw (not .Values.auth.existingSecret) (not $nextPw) -}}
password: the password would change: a new random one would replace the one in {{ $where }}
{{- else if and $livePw $nextPw (ne $livePw $nextPw) -}}
password: the password would change: {{ ternary "auth.password" (printf "Secret %s key %s" $name $key) (not (empty .Values.auth.password)) }} differs from the one the pods use ({{ $where }})
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /*
Whether this upgrade restarts the pods (changes the StatefulSet's pod template), "" when it does
not. statefulset.yaml records the SHA-256 of the pod template it renders in the annotation
checksum/pod-template of the StatefulSet; a live StatefulSet without it was rendered by an older
chart, whose template differs from this one's anyway.
*/ -}}
{{- define "redis-cluster-agent.podsRoll" -}}
{{- $sts := include "redis-cluster-agent.liveStatefulSet" . | fromJson -}}
{{- $live := dig "metadata" "annotations" "checksum/pod-template" "" $sts -}}
{{- if not $live -}}
the running StatefulSet was made by an older chart, whose pod template differs
{{- else if ne $live (include "redis-cluster-agent.podTemplateSum" .) -}}
the upgrade also changes the pod template (values or chart version), which restarts every pod
{{- end -}}
{{- end -}}
