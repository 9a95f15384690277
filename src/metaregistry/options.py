"""Checking typed options and settings, and saying what is wrong in one line.

Shared by :mod:`metaregistry.settings` (which loads the whole configuration) and
:mod:`metaregistry.connector` (a connector checks its own options when it was handed a plain
table): neither imports the other for it.
"""

from __future__ import annotations

import contextlib
import json
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import pydantic

if TYPE_CHECKING:
    from metaregistry.connector import ConnectorOptions

__all__ = ["describe_errors", "mask_secrets", "validate_options"]

_SECRET_WORDS = ("token", "secret", "password", "key", "authorization", "cookie")


def _is_complex(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_complex(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is Annotated:
        return _is_complex(typing.get_args(annotation)[0])
    target = origin or annotation
    if isinstance(target, type):
        return issubclass(target, list | tuple | set | frozenset | dict | Mapping) or (
            issubclass(target, pydantic.BaseModel)
        )
    return False


def validate_options(
    name: str, model: type[ConnectorOptions], options: Mapping[str, Any]
) -> ConnectorOptions:
    """``options`` checked against ``model``; a list or table given in the environment (a
    string) is read as JSON. Raises ValueError naming the connector, the key and the value."""
    data = dict(options)
    for key, value in data.items():
        field = model.model_fields.get(key)
        if isinstance(value, str) and field is not None and _is_complex(field.annotation):
            with contextlib.suppress(ValueError):
                data[key] = json.loads(value)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValueError(describe_errors(exc, prefix=f"connectors.{name}", data=data)) from None


def describe_errors(exc: pydantic.ValidationError, *, prefix: str = "", data: Any = None) -> str:
    """One line per error: the dotted key, what is wrong, the value given (secrets masked)."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"])
        where = ".".join(p for p in (prefix, loc) if p)
        if error["type"] == "value_error":
            message = str(error.get("ctx", {}).get("error", error["msg"]))
        else:
            message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "is not a setting here"
            if prefix.startswith("connectors."):
                message = "is not an option of this connector"
        shown = ""
        if error["type"] not in ("missing", "extra_forbidden") and error["loc"]:
            key = str(error["loc"][-1])
            shown = f" (value: {mask_secrets(error['input'], key)!r})"
        lines.append(f"{where}: {message}{shown}" if where else f"{message}{shown}")
    return "; ".join(lines)


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets (tokens, passwords, keys in URLs) masked."""
    if isinstance(value, Mapping):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(v, key) for v in value]
    if isinstance(value, str):
        if any(word in key.lower() for word in _SECRET_WORDS) and not key.endswith("_file"):
            return "****" if value else value
        if "://" in value and "@" in value:
            scheme, _, rest = value.partition("://")
            userinfo, _, host = rest.rpartition("@")
            if ":" in userinfo:
                return f"{scheme}://{userinfo.split(':', 1)[0]}:****@{host}"
    return value
