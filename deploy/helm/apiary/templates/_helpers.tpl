{{/* The release's base name: the release name when it contains the chart's name. */}}
{{- define "apiary.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "apiary.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "apiary.labels" -}}
{{ include "apiary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "apiary.headless" -}}{{ include "apiary.fullname" . }}-headless{{- end -}}

{{- define "apiary.clusterKeySecret" -}}
{{- if .Values.clusterKey.existingSecret -}}
{{- .Values.clusterKey.existingSecret -}}
{{- else if .Values.clusterKey.keys -}}
{{- include "apiary.fullname" . }}-cluster-key
{{- else -}}
{{- fail "clusterKey: set clusterKey.existingSecret (a Secret with cluster.keys) or clusterKey.keys (the output of `apiary keygen`)" -}}
{{- end -}}
{{- end -}}

{{- define "apiary.authSecret" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else if and .Values.auth.password .Values.auth.adminToken -}}
{{- include "apiary.fullname" . }}-auth
{{- else -}}
{{- fail "auth: set auth.existingSecret (a Secret with users.acl and admin.token) or both auth.password and auth.adminToken" -}}
{{- end -}}
{{- end -}}

{{- define "apiary.tlsSecret" -}}
{{- if .Values.tls.existingSecret -}}
{{- .Values.tls.existingSecret -}}
{{- else -}}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- end -}}
