"""The compiled validator (accept path) and jsonschema (reference, messages) agree."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.schemas import load_schema, schema_root, validator

UNIT = "normalized/unit_block.schema.json"
VALID: dict[str, Any] = {
    "registry": "srn-ppi",
    "record_id": "SPE-1",
    "serial": "IDN-1-100",
    "scheme": "spe-grk",
    "scope": "IDN-2024",
    "block_start": 1,
    "block_end": 100,
    "quantity": 100,
    "status": "issued",
    "country": "ID",
    "vintage_start": "2024-01-01",
    "corresponding_adjustment": "applied",
}


def test_schemas_load_from_the_package_root() -> None:
    assert (schema_root() / "normalized" / "unit_block.schema.json").is_file()
    assert load_schema(UNIT)["title"] == "UnitBlock"


def test_errors_name_field_and_value_sorted_by_path() -> None:
    bad = dict(VALID, country="Indonesia", block_start=-1, extra=1)
    issues = validator(UNIT).errors(bad)
    text = [str(i) for i in issues]
    assert [i.path for i in issues] == sorted(i.path for i in issues)
    assert any(t.startswith("block_start:") and "-1" in t for t in text)
    assert any(t.startswith("country:") and '"Indonesia"' in t for t in text)
    assert any("extra" in t for t in text)


mutations = st.sampled_from(
    [
        ("status", "burnt"),
        ("status", None),
        ("block_start", -5),
        ("block_start", "1"),
        ("block_end", 2**63),
        ("quantity", 0),
        ("quantity", 1.5),
        ("country", "idn"),
        ("country", None),
        ("registry", "SRN PPI"),
        ("scheme", ""),
        ("scope", 7),
        ("vintage_start", "2024/01/01"),
        ("vintage_end", None),
        ("authorized_purpose", "ndc"),
        ("authorized_purpose", "both"),
        ("corresponding_adjustment", "done"),
        ("serial", ""),
        ("serial", "x" * 513),
        ("raw_hash", "ab"),
        ("record_hash", "0" * 64),
        ("unknown", 1),
        ("observed_at", "2026-01-01T00:00:00Z"),
        ("observed_at", "yesterday"),
        ("origin", ""),
    ]
)


@settings(max_examples=300)
@given(st.lists(mutations, max_size=4), st.lists(st.sampled_from(sorted(VALID)), max_size=2))
def test_compiled_and_reference_validators_agree(
    changes: list[tuple[str, Any]], removals: list[str]
) -> None:
    record = dict(VALID)
    for key, value in changes:
        record[key] = value
    for key in removals:
        record.pop(key, None)
    v = validator(UNIT)
    assert v.is_valid(record) == v.is_valid_reference(record)
    assert v.is_valid(record) == (v.errors(record) == [])


def test_every_shipped_schema_agrees_on_an_empty_object() -> None:
    for path in sorted(_schema_names()):
        v = validator(path)
        assert v.is_valid({}) == v.is_valid_reference({}), path


def _schema_names() -> list[str]:
    root = schema_root()
    names: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".json"):
                names.append(f"{prefix}{child.name}")

    walk(root, "")
    return names
