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

{{/* Refuse a deployment that would run insecurely or half-configured. */}}
{{- define "refmon.checks" -}}
{{- $protocol := .Values.kafka.securityProtocol -}}
{{- if not (has $protocol (list "SASL_SSL" "PLAINTEXT")) -}}
{{- fail (printf "kafka.securityProtocol %q: use SASL_SSL (or PLAINTEXT with kafka.allowPlaintext=true)" $protocol) -}}
{{- end -}}
{{- if and (eq $protocol "PLAINTEXT") (ne (toString .Values.kafka.allowPlaintext) "true") -}}
{{- fail "kafka.securityProtocol is PLAINTEXT: events would travel unencrypted and any client could act as any other. Use SASL_SSL, or set kafka.allowPlaintext=true to accept that explicitly" -}}
{{- end -}}
{{- if and (eq $protocol "SASL_SSL") .Values.topics.create (eq .Values.topics.username .Values.kafka.username) -}}
{{- fail "topics.username must differ from kafka.username: the topic job's principal creates and deletes topics, which the workers' must not be able to" -}}
{{- end -}}
{{- end -}}

{{/* Kafka connection for one principal: (dict "root" $ "username" NAME "secret" SECRET "secretValue" "what.name").
     The workers connect as kafka.username, the topic job as topics.username. */}}
{{- define "refmon.kafkaEnv" -}}
- name: REFMON_KAFKA_BOOTSTRAP
  value: {{ .root.Values.kafka.bootstrapServers | quote }}
- name: REFMON_KAFKA_SECURITY_PROTOCOL
  value: {{ .root.Values.kafka.securityProtocol | quote }}
- name: REFMON_TOPIC_PREFIX
  value: {{ .root.Values.topicPrefix | quote }}
{{- if eq .root.Values.kafka.securityProtocol "SASL_SSL" }}
- name: REFMON_KAFKA_USERNAME
  value: {{ required "a Kafka username is required for SASL_SSL" .username | quote }}
- name: REFMON_KAFKA_CA_FILE
  value: /etc/refmon/kafka-ca/{{ .root.Values.kafka.caSecret.key }}
{{- end }}
{{- end -}}

{{/* The password is a mounted file, never an environment variable or a flag. */}}
{{- define "refmon.kafkaVolumes" -}}
{{- if eq .root.Values.kafka.securityProtocol "SASL_SSL" }}
- name: kafka-password
  secret:
    secretName: {{ required (printf "%s is required for SASL_SSL" .secretValue) .secret.name }}
    defaultMode: 0400
- name: kafka-ca
  secret:
    secretName: {{ required "kafka.caSecret.name is required for SASL_SSL" .root.Values.kafka.caSecret.name }}
{{- end }}
{{- end -}}

{{- define "refmon.kafkaMounts" -}}
{{- if eq .root.Values.kafka.securityProtocol "SASL_SSL" }}
- name: kafka-password
  mountPath: /etc/refmon/kafka-password
  readOnly: true
- name: kafka-ca
  mountPath: /etc/refmon/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "refmon.kafkaArgs" -}}
{{- if eq .root.Values.kafka.securityProtocol "SASL_SSL" }}
- --password-file
- /etc/refmon/kafka-password/{{ .secret.key }}
{{- end }}
{{- end -}}
