"""autoscaling.internal.knative.dev/v1alpha1: PodAutoscaler (one per Revision)."""

from knpy.apis.autoscaling.v1alpha1.podautoscaler_defaults import set_podautoscaler_defaults
from knpy.apis.autoscaling.v1alpha1.podautoscaler_lifecycle import (
    PA_CONDITIONS,
    PodAutoscalerStatus,
)
from knpy.apis.autoscaling.v1alpha1.podautoscaler_types import PodAutoscaler
from knpy.apis.autoscaling.v1alpha1.podautoscaler_validation import (
    validate_podautoscaler,
    validate_podautoscaler_update,
)
from knpy.apis.autoscaling.v1alpha1.register import GROUP, VERSION

__all__ = ["GROUP", "PA_CONDITIONS", "VERSION", "PodAutoscaler", "PodAutoscalerStatus",
           "set_podautoscaler_defaults", "validate_podautoscaler",
           "validate_podautoscaler_update"]
