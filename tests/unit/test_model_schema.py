"""The JSON Schema, the dataclass and the table describe the same record, field by field."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from metaregistry.index.tables import UnitBlockRow
from metaregistry.model import ALL_FIELDS, REQUIRED_FIELDS, UnitBlock
from metaregistry.schemas import load_schema

SCHEMA = load_schema("normalized/unit_block.schema.json")
TABLE: sa.Table = UnitBlockRow.__table__  # type: ignore[attr-defined]
BOOKKEEPING = {"id", "version", "span_class", "connector"}


def test_schema_is_strict() -> None:
    assert SCHEMA["additionalProperties"] is False
    assert SCHEMA["$schema"].endswith("2020-12/schema")


def test_schema_fields_equal_model_fields() -> None:
    assert list(SCHEMA["properties"]) == list(ALL_FIELDS)
    assert [f.name for f in dataclasses.fields(UnitBlock)][: len(REQUIRED_FIELDS)] != []
    assert {f.name for f in dataclasses.fields(UnitBlock)} == set(ALL_FIELDS)
    assert set(SCHEMA["required"]) == set(REQUIRED_FIELDS)


def test_table_columns_equal_schema_fields() -> None:
    columns = {c.name for c in TABLE.columns} - BOOKKEEPING
    assert columns == set(SCHEMA["properties"])


def _json_types(prop: dict[str, object]) -> set[str]:
    kind = prop["type"]
    return {kind} if isinstance(kind, str) else set(kind)  # type: ignore[arg-type]


def test_types_and_nullability_agree() -> None:
    for name, prop in SCHEMA["properties"].items():
        column = TABLE.c[name]
        types = _json_types(prop)
        if name in ("observed_at", "raw_hash", "record_hash"):
            # computed by the pipeline: optional in input, always set once stored
            assert not column.nullable, name
        else:
            assert ("null" in types) == column.nullable, name
        if "integer" in types:
            assert isinstance(column.type, sa.BigInteger), name
            assert prop["maximum"] == 2**63 - 1, name
        length = getattr(column.type, "length", None)
        if "string" in types and "maxLength" in prop and length is not None:
            assert length >= prop["maxLength"], name


def test_enums_match_model() -> None:
    from metaregistry.model import AuthorizedPurpose, CorrespondingAdjustment, Status

    assert set(SCHEMA["properties"]["status"]["enum"]) == {s.value for s in Status}
    assert set(SCHEMA["properties"]["authorized_purpose"]["enum"]) - {None} == {
        p.value for p in AuthorizedPurpose
    }
    assert set(SCHEMA["properties"]["corresponding_adjustment"]["enum"]) - {None} == {
        c.value for c in CorrespondingAdjustment
    }
