"""Frozen typed configuration, ConfigMap parsers and field-pathed errors.

Pure data: no I/O, nothing from knpy beyond this package. `knpy.apis` builds its validation
on `FieldError`; components parse their ConfigMaps with `ConfigMapReader` into frozen
dataclasses that `knpy.runtime.k8s.ConfigStore` swaps in live.
"""

from knpy.runtime.config.configmap import ConfigMapReader
from knpy.runtime.config.duration import parse_go_duration, parse_iso8601_duration
from knpy.runtime.config.field_error import FieldError, join_path, split_path
from knpy.runtime.config.lists import parse_unique_list

__all__ = [
    "ConfigMapReader",
    "FieldError",
    "join_path",
    "parse_go_duration",
    "parse_iso8601_duration",
    "parse_unique_list",
    "split_path",
]
