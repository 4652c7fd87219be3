"""PRIEMNAYA_* variables: a list as a, b or [a, b] (JSON or YAML); a bad or unknown one named."""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
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


# Variables of the project's own tools (tests, benchmarks), not settings.
_TOOL_VARIABLES = ("PRIEMNAYA_TEST_", "PRIEMNAYA_BENCH_", "PRIEMNAYA_CHROMIUM")


def unknown_variables(environ: Mapping[str, str], settings_cls: type[BaseModel]) -> list[str]:
    """PRIEMNAYA_* variables whose section is no setting: pydantic-settings skips them, so
    PRIEMNAYA_WBE__PORT or PRIEMNAYA_WEB_PORT (one underscore) would leave the port as it was."""
    sections = {name.upper() for name in settings_cls.model_fields}
    known = variable_names(settings_cls, "")
    found = []
    for name in sorted(n.upper() for n in environ):
        if not name.startswith(PREFIX) or name.startswith(_TOOL_VARIABLES):
            continue
        rest = name.removeprefix(PREFIX)
        if rest.split("__")[0] in sections:
            continue
        # Compared without the prefix, which every name shares: FOO is not close to FAQ.
        close = difflib.get_close_matches(rest, known, n=1, cutoff=0.6)
        hint = f"; did you mean {PREFIX}{close[0]}?" if close else ""
        found.append(f"{name} names no setting (PRIEMNAYA_<SECTION>__<KEY>){hint}")
    return found


def variable_names(model: type[BaseModel], prefix: str) -> list[str]:
    """Every variable that sets a key of the model, sections within sections included."""
    names = []
    for name, field in model.model_fields.items():
        names.append(prefix + name.upper())
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            names += variable_names(field.annotation, f"{prefix}{name.upper()}__")
    return names
