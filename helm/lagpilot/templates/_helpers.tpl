{{/* Chart name, truncated to a DNS label. */}}
{{- define "lagpilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "lagpilot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lagpilot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lagpilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lagpilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lagpilot.labels" -}}
helm.sh/chart: {{ include "lagpilot.chart" . }}
{{ include "lagpilot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lagpilot
{{- end }}

{{- define "lagpilot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lagpilot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lagpilot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "lagpilot.leaseName" -}}
{{- default (printf "%s-leader" (include "lagpilot.fullname" .)) .Values.leaderElection.id }}
{{- end }}

{{- define "lagpilot.metricsServiceName" -}}
{{- printf "%s-metrics" (include "lagpilot.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A duration as the operator parses it ("15s", "2m", "1h", "30") in seconds. */}}
{{- define "lagpilot.seconds" -}}
{{- $v := toString . }}
{{- $n := regexFind "^[0-9]+" $v | atoi }}
{{- if hasSuffix "h" $v }}{{ mul $n 3600 }}{{ else if hasSuffix "m" $v }}{{ mul $n 60 }}{{ else }}{{ $n }}{{ end }}
{{- end }}

{{/*
The RBAC rules of the operator for QueueMonitors and their targets (no Secrets, no Leases):
the same list in the ClusterRole (cluster-wide) and in each namespaced Role.
*/}}
{{- define "lagpilot.operatorRules" -}}
# Every rule is used by the operator: tests/helm/rbac_proof_test.cpp runs it as this chart's
# ServiceAccount and checks the API server's audit log (docs/rbac.md). No get on QueueMonitors or
# Deployments: both are served from informer caches (list+watch).
# QueueMonitors: informer (list+watch); status written with a merge patch.
- apiGroups: ["lagpilot.io"]
  resources: ["queuemonitors"]
  verbs: ["list", "watch"]
- apiGroups: ["lagpilot.io"]
  resources: ["queuemonitors/status"]
  verbs: ["patch"]
# QueueMonitors with spec.scaling.onDelete Restore: their finalizer is added and removed with a
# merge patch of metadata.finalizers (conditional on resourceVersion).
- apiGroups: ["lagpilot.io"]
  resources: ["queuemonitors"]
  verbs: ["patch"]
# Deployments: an informer cache for replicas and target changes; scaling only by a patch of
# the scale subresource (never update/patch of the Deployment itself).
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["patch"]
{{- range .Values.extraScaleTargets }}
# extraScaleTargets: {{ .resource }}{{ if .apiGroup }}.{{ .apiGroup }}{{ end }} (no cache: replicas are read from the scale
# subresource; the object itself is never read).
- apiGroups: [{{ .apiGroup | quote }}]
  resources: [{{ printf "%s/scale" .resource | quote }}]
  verbs: ["get", "patch"]
{{- end }}
# Other autoscalers of a target (a target is scaled by one controller): informers only, for
# HorizontalPodAutoscalers (whichever autoscaling version the server serves) and KEDA ScaledObjects
# (watched only when keda.sh is served).
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "watch"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["list", "watch"]
# Events about QueueMonitors; repeats are counted by patching the existing Event.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* Checks across values that the schema cannot express. */}}
{{- /* "true" when the replicas shard the monitors (lagpilot run --shards auto): shards auto and
more than one replica. (YAML reads a bare off as false.) */ -}}
{{- define "lagpilot.sharded" -}}
{{- if and (eq (toString .Values.shards) "auto") (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "lagpilot.validate" -}}
{{- if not (has (toString .Values.shards) (list "auto" "off" "false")) }}
{{- fail (printf "shards: %q must be auto or off" (toString .Values.shards)) }}
{{- end }}
{{- $sharded := include "lagpilot.sharded" . }}
{{- if and (gt (int .Values.replicaCount) 1) (not $sharded) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount: %d replicas need shards=auto or leaderElection.enabled=true (otherwise every replica would scale)" (int .Values.replicaCount)) }}
{{- end }}
{{- if or .Values.leaderElection.enabled $sharded }}
{{- $lease := include "lagpilot.seconds" .Values.leaderElection.leaseDuration | atoi }}
{{- $renew := include "lagpilot.seconds" .Values.leaderElection.renewDeadline | atoi }}
{{- $retry := include "lagpilot.seconds" .Values.leaderElection.retryPeriod | atoi }}
{{- if ge $renew $lease }}
{{- fail (printf "leaderElection.renewDeadline (%s) must be shorter than leaderElection.leaseDuration (%s)" .Values.leaderElection.renewDeadline .Values.leaderElection.leaseDuration) }}
{{- end }}
{{- if and $sharded (ge (add $renew $retry) $lease) }}
{{- fail (printf "with shards, leaderElection.renewDeadline (%s) plus retryPeriod (%s) must be shorter than leaseDuration (%s)" .Values.leaderElection.renewDeadline .Values.leaderElection.retryPeriod .Values.leaderElection.leaseDuration) }}
{{- end }}
{{- end }}
{{- if and .Values.watchNamespaces .Values.rbac.secrets.namespaces }}
{{- fail "rbac.secrets.namespaces applies to cluster-wide mode only; with watchNamespaces the operator reads Secrets in exactly those namespaces" }}
{{- end }}
{{- if and .Values.watchNamespaces .Values.rbac.secrets.clusterWide }}
{{- fail "rbac.secrets.clusterWide applies to cluster-wide mode only; with watchNamespaces the operator reads Secrets in exactly those namespaces" }}
{{- end }}
{{- if and .Values.rbac.secrets.clusterWide .Values.rbac.secrets.namespaces }}
{{- fail "rbac.secrets.clusterWide and rbac.secrets.namespaces exclude each other: every namespace, or these" }}
{{- end }}
{{- if eq (int .Values.metrics.port) (int .Values.health.port) }}
{{- fail (printf "metrics.port and health.port must differ (both %d)" (int .Values.metrics.port)) }}
{{- end }}
{{- end }}
