"""Admission handlers for Serving: serving.knative.dev/v1 (Service, Configuration,
Revision, Route), DomainMapping (v1beta1), PodAutoscaler, ServerlessService,
ClusterDomainClaim and Serving's config maps, with
Knative's defaults and field-pathed validation from knpy.apis.

`config` is read per request, so a live config-defaults / config-autoscaler /
config-features change applies at once (wire it to a ConfigStore holding
SERVING_CONFIG_PARSERS with `serving_config(store.get)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from knpy.apis.autoscaling import v1alpha1 as autoscaling
from knpy.apis.networking import v1alpha1 as networking
from knpy.apis.serving import v1, v1beta1
from knpy.apis.serving.configmaps import SERVING_CONFIG_PARSERS, ServingConfig
from knpy.runtime.config import FieldError
from knpy.webhook.admission import Handler, Handlers, configmap_validator

__all__ = ["serving_handlers"]

Obj = dict[str, Any]
Validate = Callable[[Obj, ServingConfig], FieldError]
ValidateUpdate = Callable[[Obj, Obj, ServingConfig], FieldError]


def serving_handlers(config: Callable[[], ServingConfig] = ServingConfig) -> Handlers:
    def validator(create: Validate, update: ValidateUpdate
                  ) -> Callable[[Obj, Obj | None], FieldError]:
        def validate(o: Obj, old: Obj | None) -> FieldError:
            cfg = config()
            return create(o, cfg) if old is None else update(old, o, cfg)
        return validate

    def pa_validate(o: Obj, old: Obj | None) -> FieldError:
        cfg = config().autoscaler
        return (autoscaling.validate_podautoscaler(o, cfg) if old is None
                else autoscaling.validate_podautoscaler_update(old, o, cfg))

    def sks_validate(o: Obj, old: Obj | None) -> FieldError:
        return (networking.validate_serverlessservice(o) if old is None
                else networking.validate_serverlessservice_update(old, o))

    def route_validate(o: Obj, old: Obj | None) -> FieldError:
        return v1.validate_route(o) if old is None else v1.validate_route_update(old, o)

    def dm_validate(o: Obj, old: Obj | None) -> FieldError:
        return (v1beta1.validate_domainmapping(o) if old is None
                else v1beta1.validate_domainmapping_update(old, o))

    g = v1.GROUP
    return {
        (g, "Service"): Handler(lambda o: v1.set_service_defaults(o, config().defaults),
                                validator(v1.validate_service, v1.validate_service_update),
                                v1.set_user_annotations),
        (g, "Configuration"): Handler(
            lambda o: v1.set_configuration_defaults(o, config().defaults),
            validator(v1.validate_configuration, v1.validate_configuration_update),
            v1.set_user_annotations),
        (g, "Revision"): Handler(lambda o: v1.set_revision_defaults(o, config().defaults),
                                 validator(v1.validate_revision, v1.validate_revision_update)),
        (g, "Route"): Handler(v1.set_route_defaults, route_validate, v1.set_user_annotations),
        (g, "DomainMapping"): Handler(v1beta1.set_domainmapping_defaults, dm_validate,
                                      v1.set_user_annotations),
        (networking.GROUP, "ClusterDomainClaim"): Handler(
            None, lambda o, _old: v1beta1.validate_clusterdomainclaim(o)),
        (autoscaling.GROUP, "PodAutoscaler"): Handler(
            lambda o: autoscaling.set_podautoscaler_defaults(
                o, autoscaler_class=config().autoscaler.pod_autoscaler_class),
            pa_validate),
        (networking.GROUP, "ServerlessService"): Handler(None, sks_validate),
        ("", "ConfigMap"): Handler(None, configmap_validator(SERVING_CONFIG_PARSERS)),
    }
