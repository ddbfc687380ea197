{{- define "refmon.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "refmon.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "refmon.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "refmon.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "refmon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "refmon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "refmon.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "refmon.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "refmon.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Kafka connection: environment shared by the workers and the topic job. */}}
{{- define "refmon.kafkaEnv" -}}
- name: REFMON_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: REFMON_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
- name: REFMON_TOPIC_PREFIX
  value: {{ .Values.topicPrefix | quote }}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- name: REFMON_KAFKA_USERNAME
  value: {{ .Values.kafka.username | quote }}
- name: REFMON_KAFKA_CA_FILE
  value: /etc/refmon/kafka-ca/{{ .Values.kafka.caSecret.key }}
{{- end }}
{{- end -}}

{{/* The password is a mounted file, never an environment variable or a flag. */}}
{{- define "refmon.kafkaVolumes" -}}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- name: kafka-password
  secret:
    secretName: {{ required "kafka.passwordSecret.name is required for SASL_SSL" .Values.kafka.passwordSecret.name }}
    defaultMode: 0400
- name: kafka-ca
  secret:
    secretName: {{ required "kafka.caSecret.name is required for SASL_SSL" .Values.kafka.caSecret.name }}
{{- end }}
{{- end -}}

{{- define "refmon.kafkaMounts" -}}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- name: kafka-password
  mountPath: /etc/refmon/kafka-password
  readOnly: true
- name: kafka-ca
  mountPath: /etc/refmon/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "refmon.kafkaArgs" -}}
{{- if eq .Values.kafka.securityProtocol "SASL_SSL" }}
- --password-file
- /etc/refmon/kafka-password/{{ .Values.kafka.passwordSecret.key }}
{{- end }}
{{- end -}}
