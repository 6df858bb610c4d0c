{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name if it already contains the chart name. */}}
{{- define "tributary.fullname" -}}
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

{{- define "tributary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tributary.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tributary
{{- end }}

{{/* Immutable once the Deployment exists: never add to these. */}}
{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The namespaces the operator watches, as a JSON list; [] = all (clusterWide). Default: the
release namespace alone, so a plain install holds no rights outside it.
*/}}
{{- define "tributary.watched" -}}
{{- if and .Values.clusterWide .Values.watchNamespaces }}
{{- fail "clusterWide=true watches every namespace: leave watchNamespaces empty" }}
{{- end }}
{{- if .Values.clusterWide }}
{{- toJson list }}
{{- else if .Values.watchNamespaces }}
{{- toJson .Values.watchNamespaces }}
{{- else }}
{{- toJson (list .Release.Namespace) }}
{{- end }}
{{- end }}

{{/*
The namespaces the slot NetworkPolicies go in, as a JSON list: networkPolicy.namespaces, else
the watched namespaces (the release namespace by default). [] when clusterWide lists none: a
cluster-wide operator runs StreamJobs in namespaces the chart cannot know.
*/}}
{{- define "tributary.networkPolicyNamespaces" -}}
{{- toJson (.Values.networkPolicy.namespaces | default (include "tributary.watched" . | fromJsonArray)) }}
{{- end }}

{{- define "tributary.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "tributary.runtimeImage" -}}
{{- printf "%s:%s" .Values.runtimeImage.repository (default .Chart.AppVersion .Values.runtimeImage.tag) }}
{{- end }}

{{/*
The operator's rules in a watched namespace (or cluster-wide). Exactly what it calls:
its two CRDs (+ status writes, finalizer patches), the objects it owns per StreamJob, and
Events. It creates each job's runtime Role (pods get/list/watch), and RBAC forbids granting
what one does not hold, hence pods get/list/watch here even beyond what it reads itself.
*/}}
{{- define "tributary.operatorRules" -}}
- apiGroups: [tributary.dev]
  resources: [streamjobs, druiddatasources]
  verbs: [get, list, watch, update, patch]
- apiGroups: [tributary.dev]
  resources: [streamjobs/status, druiddatasources/status]
  verbs: [get, update, patch]
- apiGroups: [tributary.dev]
  resources: [streamjobs/finalizers, druiddatasources/finalizers]
  verbs: [update]
# The autoscaler sets spec.replicas through the scale subresource (field manager tributary-autoscaler).
- apiGroups: [tributary.dev]
  resources: [streamjobs/scale]
  verbs: [get, update, patch]
- apiGroups: [""]
  resources: [pods, secrets, services, configmaps, serviceaccounts]
  verbs: [create, get, list, watch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [create, get, list, watch, delete]
- apiGroups: [""]
  resources: [events]
  {{- if .Values.dashboard.enabled }}
  # list: the dashboard shows a job's Events (a field selector on the StreamJob).
  verbs: [create, patch, list]
  {{- else }}
  verbs: [create, patch]
  {{- end }}
{{- end }}

{{/* The webhook Service, its TLS Secret and cert-manager Certificate (names: 63 characters at most). */}}
{{- define "tributary.webhookName" -}}
{{- printf "%s-webhook" (include "tributary.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "tributary.webhookSecretName" -}}
{{- printf "%s-tls" (include "tributary.webhookName" .) }}
{{- end }}

{{/* The names the serving certificate must carry: the Service as the API server addresses it. */}}
{{- define "tributary.webhookDnsNames" -}}
{{- $svc := include "tributary.webhookName" . }}
{{- $ns := .Release.Namespace }}
{{- toJson (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns)) }}
{{- end }}
