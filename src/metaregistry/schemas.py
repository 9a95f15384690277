"""The JSON Schemas shipped in ``schemas/`` and the validators built from them.

jsonschema (Draft 2020-12) is the reference and the source of every error message: all errors
of an instance, sorted by path. The accept path uses a validator compiled by fastjsonschema
(about twenty times faster); a test proves both accept and reject the same corpora. Only
keywords that mean the same in both are used in the schemas (no ``format`` assertions).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

__all__ = ["SchemaIssue", "Validator", "load_schema", "schema_root", "validator"]


def schema_root() -> Traversable:
    """Where the schemas live: inside the installed package, or the repository in development."""
    packaged = resources.files("metaregistry") / "schemas"
    if packaged.is_dir():
        return packaged
    repo = Path(__file__).resolve().parents[2] / "schemas"
    if repo.is_dir():
        return repo
    raise FileNotFoundError("metaregistry schemas not found in the package nor the repository")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """Load ``schemas/<name>`` (for example ``normalized/unit_block.schema.json``)."""
    node = schema_root()
    for part in name.split("/"):
        node = node / part
    loaded: dict[str, Any] = json.loads(node.read_text(encoding="utf-8"))
    return loaded


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation: where (a JSON pointer-like path), the offending value, and why."""

    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        shown = json.dumps(self.value, ensure_ascii=False, default=str)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return f"{self.path or '(record)'}: {self.message} (value: {shown})"


#: What a schema pattern means, in words: a quarantine reason says "not a whole number", never
#: the regular expression (issue 22).
PATTERN_WORDS: dict[str, str] = {
    "^(\\s*[0-9][0-9,\u00a0 ]*(\\.0*)?\\s*)?$": "a whole number",
    "^\\d{2}/\\d{2}/\\d{4}$": "a date written DD/MM/YYYY",
    "^\\d{4}-\\d{2}-\\d{2}$": "a date written YYYY-MM-DD",
    "^[A-Z]{2}$": "a two-letter country code",
    "^[a-z0-9]+(-[a-z0-9]+)*$": "a lower-case name of letters, digits and hyphens",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date written YYYY-MM-DD",
    "^[0-9a-f]{64}$": "a SHA-256 hash (64 lower-case hexadecimal digits)",
    "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$": (
        "a UTC time written YYYY-MM-DDTHH:MM:SSZ"
    ),
    # cross_refs
    "^[a-z][a-z0-9_]*=[a-z0-9][a-z0-9.-]*:\\S(?:[^;]*\\S)?"
    "(?:; [a-z][a-z0-9_]*=[a-z0-9][a-z0-9.-]*:\\S(?:[^;]*\\S)?)*$": (
        "kind=registry:id entries joined by '; '"
    ),
}


#: What a JSON type is, in words ("'n/a' is not of type 'integer'" reads "is not a whole number").
TYPE_WORDS: dict[str, str] = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "a set of named fields",
    "array": "a list",
    "null": "empty",
}


def _message(err: Any) -> str:
    if err.validator == "type":
        wanted = err.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return "is not " + " or ".join(TYPE_WORDS.get(str(n), str(n)) for n in names)
    if err.validator == "enum" and isinstance(err.validator_value, list):
        return "is not one of " + ", ".join(map(str, err.validator_value))
    if err.validator == "pattern":
        words = PATTERN_WORDS.get(str(err.validator_value))
        if words is None:
            words = str(err.schema.get("description") or "").split(".")[0].strip() or (
                "in the expected format"
            )
        return f"is not {words}"
    return str(err.message)


class Validator:
    """A schema with a fast accept path and a reference error path."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._reference = jsonschema.Draft202012Validator(schema)
        compiled: Callable[[Any], Any] = fastjsonschema.compile(
            _for_fastjsonschema(schema), use_formats=False
        )
        self._compiled = compiled

    def is_valid(self, instance: Any) -> bool:
        try:
            self._compiled(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def is_valid_reference(self, instance: Any) -> bool:
        return bool(self._reference.is_valid(instance))

    def errors(self, instance: Any) -> list[SchemaIssue]:
        """Every violation, sorted by path (empty when valid)."""
        issues = [
            SchemaIssue(
                path="/".join(str(p) for p in err.absolute_path),
                value=err.instance,
                message=_message(err),
            )
            for err in self._reference.iter_errors(instance)
        ]
        issues.sort(key=lambda i: (i.path, i.message))
        return issues


def _for_fastjsonschema(schema: dict[str, Any]) -> dict[str, Any]:
    """fastjsonschema knows drafts 4-7; our schemas only use keywords common to 7 and 2020-12."""
    copy = dict(schema)
    copy["$schema"] = "http://json-schema.org/draft-07/schema#"
    return copy


@functools.cache
def validator(name: str) -> Validator:
    """The (cached) validator of ``schemas/<name>``."""
    return Validator(load_schema(name))
