"""The error a bad trigger filter spec raises, pathed like Knative's apis.FieldError."""

from __future__ import annotations


class FilterError(ValueError):
    """An invalid filter spec. `field` is the path of the offending field, relative to the
    trigger spec: ``filters[1].cesql``, ``filters[0].all[2].exact[type]``,
    ``filter.attributes[Type]``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"FilterError(field={self.field!r}, message={self.message!r})"
