"""The pipeline's fast paths give exactly what the reference path gives.

* Raw form: a payload whose canonical bytes show nothing personal is used as it is instead of
  going through ``strip_personal_data``; the payload, its bytes and so ``raw_hash`` must be
  those of the whole way.
* The pipeline as a whole: ``prepare_page`` equals a step-by-step reference built from the
  slow parts (``strip_personal_data``, ``canonicalize_reference``, jsonschema).
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.canonical import canonicalize, canonicalize_reference
from metaregistry.connector import (
    Connector,
    RawRecord,
    may_hold_personal_data,
    strip_personal_data,
)
from metaregistry.model import UnitBlock
from metaregistry.pipeline import UNIT_BLOCK_SCHEMA, prepare_page, raw_form
from metaregistry.schemas import validator

OBSERVED = "2026-11-27T00:00:00.000000Z"


class Plain(Connector):
    """A connector with the default ``prepare_raw``: its block comes from a few payload
    fields, so every payload shape reaches the raw-form step."""

    name = "plain"
    registries = ("plain",)

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        start = int(p.get("start", 1)) if isinstance(p.get("start", 1), int) else 1
        return UnitBlock(
            registry="plain",
            record_id=str(p.get("id", "r")),
            serial=f"P-{start}",
            scheme="plain",
            scope="",
            block_start=start,
            block_end=start + 9,
            quantity=10,
            status="issued",
            status_reason=p.get("note") if isinstance(p.get("note"), str) and p["note"] else None,
        )


class Stripping(Plain):
    """A connector that overrides ``prepare_raw``: the fast path must step aside."""

    name = "stripping"

    def prepare_raw(self, record: RawRecord) -> dict[str, Any]:
        return {k: v for k, v in record.payload.items() if k != "secret"}


# Text that tends to trip the personal-data patterns: addresses, '+' numbers, the key words in
# any case, non-ASCII look-alikes (dotless i, Kelvin sign), JSON escapes before a number.
tricky_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "a@b.org",
            "write to Jo.Doe+x@mail.example.com",
            "+41 44 123 45 67",
            "call +1 (555) 010-9999 now",
            "\n+4915112345678",
            "+07:00",
            "2025-10-15T09:00:00+07:00",
            "1+1=2",
            "E-Mail",
            "Mobile",
            "FAX",
            "Telephone",
            "emaıl",
            "\u212a",
            "tel +١٢٣٤٥٦٧٨٩",
            "",
        ]
    ),
)
tricky_keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["email", "e-mail", "EMail", "phone", "Telefon", "mobile_no", "fax", "id", "note", "emaıl"]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_keys, children, max_size=3)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(tricky_keys, json_values, max_size=6)


@settings(max_examples=400)
@given(payloads)
def test_raw_form_equals_stripping_then_canonicalizing(payload: dict[str, Any]) -> None:
    record = RawRecord(payload, "t:1")
    stripped = strip_personal_data(payload)
    got_payload, got_bytes = raw_form(Plain(), record)
    assert got_payload == stripped
    assert got_bytes == canonicalize_reference(stripped)


@settings(max_examples=400)
@given(payloads)
def test_a_payload_said_clean_is_left_unchanged_by_stripping(payload: dict[str, Any]) -> None:
    if not may_hold_personal_data(canonicalize(payload)):
        assert strip_personal_data(payload) == payload


def test_personal_data_is_stripped_on_the_way_to_the_hash() -> None:
    payload = {"id": "r1", "contact_email": "jo@example.org", "note": "ring +41 44 123 45 67"}
    got, raw = raw_form(Plain(), RawRecord(payload, "t:1"))
    assert got == {"id": "r1", "note": "ring [phone removed]"}
    assert b"example.org" not in raw and b"123 45" not in raw


def test_an_overridden_prepare_raw_is_always_used() -> None:
    got, raw = raw_form(Stripping(), RawRecord({"id": "r1", "secret": "s"}, "t:1"))
    assert got == {"id": "r1"}
    assert raw == b'{"id":"r1"}'


def test_a_float_payload_hashes_by_the_rfc() -> None:
    _, raw = raw_form(Plain(), RawRecord({"id": "r1", "price": 1.50, "big": 1e21}, "t:1"))
    assert raw == b'{"big":1e+21,"id":"r1","price":1.5}'


def _reference_page(connector: Connector, records: list[RawRecord]) -> list[UnitBlock]:
    """The pipeline spelled out with the slow parts, for records that pass every step."""
    out = []
    unit = validator(UNIT_BLOCK_SCHEMA)
    for record in records:
        payload = connector.prepare_raw(record)
        raw = canonicalize_reference(payload)
        block = connector.normalize(record)
        for name in ("record_id", "serial", "status_reason"):  # free text is NFC in the index
            value = getattr(block, name)
            if value is not None:
                setattr(block, name, unicodedata.normalize("NFC", value))
        assert unit.is_valid_reference(block.content())
        block.record_hash = hashlib.sha256(canonicalize_reference(block.content())).hexdigest()
        block.raw_hash = hashlib.sha256(raw).hexdigest()
        block.observed_at = OBSERVED
        out.append(block)
    return out


@settings(max_examples=100)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.text(min_size=1, max_size=8), "start": st.integers(0, 2**40)},
            optional={"note": tricky_text, "email": tricky_text, "extra": json_values},
        ),
        min_size=1,
        max_size=8,
    )
)
def test_prepare_page_equals_the_reference_pipeline(items: list[dict[str, Any]]) -> None:
    records = [RawRecord(p, f"t:{i}") for i, p in enumerate(items)]
    page = prepare_page(Plain(), records, OBSERVED)
    assert page.quarantined == []
    assert page.blocks == _reference_page(Plain(), records)
    assert set(page.raw_payloads) == {b.raw_hash for b in page.blocks}
    assert page.version_texts == [None] * len(page.blocks)  # made by the store, if written


class Picky(Plain):
    """A raw schema and a normalize that fails on some shapes, so a page mixes every outcome."""

    name = "picky"
    raw_schema = "normalized/unit_block.schema.json"  # any schema the payloads mostly fail

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return self.raw_schema if record.payload.get("strict") else None

    def normalize(self, record: RawRecord) -> UnitBlock:
        if record.payload.get("explode"):
            raise ValueError("explode: cannot normalize (value: True)")
        block = Plain.normalize(self, record)
        if record.payload.get("bad_quantity"):
            block.quantity = 3
        if record.payload.get("bad_country"):
            block.country = "Nowhere"
        return block


page_records = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["a", "b", "c", "d"]), "start": st.integers(0, 50)},
        optional={
            "note": tricky_text,
            "strict": st.booleans(),
            "explode": st.booleans(),
            "bad_quantity": st.booleans(),
            "bad_country": st.booleans(),
        },
    ),
    max_size=10,
)


@settings(max_examples=200)
@given(page_records, st.data())
def test_prepare_page_with_known_hashes_equals_the_whole_way(
    items: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Whatever the index holds (the page's own hashes, other hashes, nothing), a page prepared
    with ``known`` has the same blocks, quarantine and order as the whole way."""
    connector = Picky()
    records = [RawRecord(p, f"t:{i}") for i, p in enumerate(items)]
    reference = prepare_page(connector, records, OBSERVED)
    truth = {b.key: (b.record_hash or "", b.raw_hash or "") for b in reference.blocks}
    stored = data.draw(
        st.dictionaries(
            st.sampled_from(sorted(truth) or [("plain", "a")]),
            st.one_of(st.sampled_from(sorted(truth.values()) or [("x", "y")]), st.just(("x", "y"))),
        )
    )
    asked: list[set[tuple[str, str]]] = []

    def known(keys: Any) -> dict[tuple[str, str], tuple[str, str]]:
        asked.append(set(keys))
        return {k: v for k, v in stored.items() if k in keys}

    fast = prepare_page(connector, records, OBSERVED, known)
    assert fast.blocks == reference.blocks
    assert fast.quarantined == reference.quarantined
    assert fast.raw_payloads == reference.raw_payloads
    assert len(asked) == 1
    for block, text in zip(fast.blocks, fast.version_texts, strict=True):
        unchanged = stored.get(block.key) == (block.record_hash, block.raw_hash)
        assert text == (None if unchanged else canonicalize(block.to_json()).decode())


def test_a_stored_record_hashing_the_same_skips_the_schema_checks() -> None:
    connector = Picky()
    record = RawRecord({"id": "a", "start": 1, "strict": True}, "t:1")
    reference = prepare_page(connector, [record], OBSERVED)
    assert reference.blocks == [] and reference.quarantined[0].stage == "raw"
    # The same bytes were accepted before (under another schema): nothing to check again.
    _, raw = raw_form(connector, record)
    block = connector.normalize(record)
    stored = {
        block.key: (
            hashlib.sha256(canonicalize(block.content())).hexdigest(),
            hashlib.sha256(raw).hexdigest(),
        )
    }
    fast = prepare_page(connector, [record], OBSERVED, lambda keys: stored)
    assert [b.key for b in fast.blocks] == [("plain", "a")] and fast.quarantined == []
