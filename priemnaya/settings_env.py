"""PRIEMNAYA_* variables: a list as a, b or [a, b] (JSON or YAML), a bad one named in a line."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic.fields import FieldInfo
from pydantic_settings import EnvSettingsSource

PREFIX = "PRIEMNAYA_"
LIST_FORM = 'a comma-separated list such as a,b, or [a, b] (JSON or YAML)'


class EnvValueError(ValueError):
    """A variable that is neither JSON nor any form its setting takes: the line to print."""


class ReadableEnvSource(EnvSettingsSource):
    """pydantic-settings reads a list only as JSON: `PRIEMNAYA_FAQ__PATHS=/srv/kb` stopped the
    start with its traceback. A list is also read as people write it in a shell."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            if not isinstance(value, str):
                raise
        try:
            # None for a key inside a mapping (explode_env_vars), whatever the signature says.
            return parse_env_value(value, _is_list(getattr(field, "annotation", None)))
        except ValueError as exc:
            raise EnvValueError(f"{self._name_of(field_name, value)} = {value!r}: {exc}") from None

    def _name_of(self, key: str, value: str) -> str:
        # The source hands over the last key only; the variable is the one holding this value.
        names = [name for name, text in self.env_vars.items()
                 if text == value and name.lower().endswith(key.lower())]
        return names[0].upper() if names else f"{PREFIX}…{key.upper()}"


def parse_env_value(text: str, is_list: bool) -> Any:
    """[a, b] and {k: v} as YAML (a superset of JSON); else, for a list, comma-separated."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            return yaml.safe_load(stripped)
        except yaml.YAMLError:
            raise ValueError(f"expected {LIST_FORM}" if is_list
                             else "expected JSON or YAML such as {key: value}") from None
    if is_list:
        return [item.strip() for item in stripped.split(",") if item.strip()]
    raise ValueError("expected JSON or YAML such as {key: value}")


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))
    return origin in (list, tuple, set, frozenset)
