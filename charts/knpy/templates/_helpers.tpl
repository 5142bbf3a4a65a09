{{/* Names and labels shared by every template. */}}

{{/* Labels of objects that belong to no one component. */}}
{{- define "knpy.labels" -}}
{{ include "knpy.baseLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels without the instance (combined with knpy.selector, which has it). */}}
{{- define "knpy.baseLabels" -}}
app.kubernetes.io/part-of: knpy
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "knpy.selector" (list . "controller") */}}
{{- define "knpy.selector" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{/* An image reference: include "knpy.image" (list . "broker") */}}
{{- define "knpy.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" $root.Values.image.registry (index . 1) $root.Values.image.tag -}}
{{- end -}}

{{- define "knpy.ingressHost" -}}
{{- printf "%s.%s.svc.%s" .Values.broker.ingress.service.name .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{- define "knpy.natsURL" -}}
{{- if .Values.nats.url -}}
{{- .Values.nats.url -}}
{{- else -}}
{{- printf "nats://knpy-nats.%s.svc.%s:4222" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* policy/v1 PodDisruptionBudget where served (1.21+), else policy/v1beta1 (1.20). Offline
     (helm template/lint without --api-versions) the Kubernetes version decides. */}}
{{- define "knpy.pdbApiVersion" -}}
{{- if or (.Capabilities.APIVersions.Has "policy/v1/PodDisruptionBudget") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{/* autoscaling/v2 HorizontalPodAutoscaler where served (1.23+), else autoscaling/v2beta2
     (1.20; the same spec fields for a CPU target). Offline, the Kubernetes version decides. */}}
{{- define "knpy.hpaApiVersion" -}}
{{- if or (.Capabilities.APIVersions.Has "autoscaling/v2/HorizontalPodAutoscaler") (semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version) -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end -}}
{{- end -}}

{{/* The fewest replicas a component runs (what gates its PodDisruptionBudget): the HPA's
     minReplicas when it has an enabled one, else its replicas. Takes the component's values. */}}
{{- define "knpy.replicaFloor" -}}
{{- if and .hpa .hpa.enabled -}}
{{- .hpa.minReplicas -}}
{{- else -}}
{{- .replicas -}}
{{- end -}}
{{- end -}}

{{/* Pod spec fields shared by every knpy Deployment. */}}
{{- define "knpy.podCommon" -}}
# No Service environment variables: they can collide with the components' own settings
# (a Service knpy-webhook makes KNPY_WEBHOOK_PORT=tcp://...), and knpy uses DNS anyway.
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
{{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The system-namespace env every control-plane container reads. */}}
{{- define "knpy.systemEnv" -}}
- name: SYSTEM_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: KNPY_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{ include "knpy.observabilityEnv" . }}
{{- end -}}

{{/* config-observability's data as JSON (runtime/observability/tracing.py reads it from
     OBSERVABILITY_CONFIG): what servingConfig.config-observability sets, so a `helm
     upgrade` that changes it rolls the pods. Revision pods get it from the controller. */}}
{{- define "knpy.observabilityEnv" -}}
- name: OBSERVABILITY_CONFIG
  value: {{ index .Values.servingConfig "config-observability" | default dict | toJson | quote }}
{{- end -}}

{{/* Pod template annotations of one component: include "knpy.podAnnotations" (list . "broker"
     9092). The third item, when given, is the port serving GET /metrics (Prometheus's
     scrape annotations). The image's digest (image.digests, set by `make deploy`) rolls the pods when a rebuilt
     image keeps its tag; without it a new image would reach only pods started later. */}}
{{- define "knpy.podAnnotations" -}}
{{- $digest := index (index . 0).Values.image.digests (index . 1) | default "" -}}
{{- $metrics := 0 -}}
{{- if gt (len .) 2 }}{{ $metrics = index . 2 }}{{ end -}}
{{- if or $digest $metrics -}}
annotations:
  {{- if $metrics }}
  # GET /metrics (Prometheus text) on this port: docs/observability.md
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ $metrics | quote }}
  prometheus.io/path: /metrics
  {{- end }}
  {{- if $digest }}
  knpy.dev/image-digest: {{ $digest | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The pod's own IP (the activator's subsetting, the autoscaler's identity). */}}
{{- define "knpy.podIPEnv" -}}
- name: POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
{{- end -}}

{{/* The queue-proxy image Revisions' pods get, unless config-deployment names another. */}}
{{- define "knpy.queueProxyImage" -}}
{{- include "knpy.image" (list . .Values.serving.queueProxy.image) -}}
{{- end -}}

{{/* The key pods' announcements are signed with (serving.activator.announce): for the
     activators, which check them, and the controller, which gives each revision's pods
     their token. */}}
{{- define "knpy.announceKeyEnv" -}}
{{- if and .Values.serving.enabled .Values.serving.activator.announce -}}
- name: KNPY_ANNOUNCE_KEY
  valueFrom: {secretKeyRef: {name: knpy-announce-key, key: key}}
{{- end }}
{{- end -}}
