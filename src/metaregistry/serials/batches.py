"""Batch identifiers: serials that name an issuance batch but no units.

A bare Cercarbono serial (``CDC_1_1_1_321_14_1_2009``) and a Regen batch denom
(``C01-001-20150101-20151231-001``) identify a batch; neither states unit numbers, so neither
is a :class:`~metaregistry.serials.ParsedSerial` (which always names a range). ``parse-serial``
explains them with :func:`explain_batch`: the same facts, ``numbered`` false and no range.
"""

from __future__ import annotations

from typing import Any

from metaregistry.serials.cercarbono import parse_cdc_batch
from metaregistry.serials.regen import looks_like_regen_denom, parse_regen_denom

__all__ = ["explain_batch"]


def explain_batch(text: str) -> dict[str, Any] | None:
    """The facts of a batch identifier as JSON, None when ``text`` has no batch-id shape.
    Raises ``SerialError`` (naming the token) for one that has the shape but does not read."""
    text = text.strip()
    if text.startswith("CDC_") and " " not in text:
        batch = parse_cdc_batch(text)
        year = batch.vintage_year
        return _json(
            "cercarbono",
            "cercarbono",
            text,
            project_id=batch.project_id,
            vintage_start=None if year is None else year + "-01-01",
            vintage_end=None if year is None else year + "-12-31",
            country=batch.country,
            batch=batch.sequence,
            extras=dict(batch.extras()),
            note="a Cercarbono serial names a batch; its units are positions given by the "
            "'from'/'to' columns of retirement rows ('<serial> <from> to <to>')",
        )
    if looks_like_regen_denom(text):
        denom = parse_regen_denom(text)
        extras = {"class_id": denom.class_id, "credit_type": denom.credit_type}
        extras["batch_sequence"] = denom.batch_sequence
        return _json(
            "regen",
            "regen",
            text,
            project_id=denom.project_id,
            vintage_start=denom.start_date,
            vintage_end=denom.end_date,
            country=None,
            batch=denom.batch_sequence,
            extras=extras,
            note="a Regen Ledger batch denom names a batch of fungible credits, never unit "
            "numbers; a C01 batch is numbered by the Verra serial it was issued from",
        )
    return None


def _json(family: str, scheme: str, scope: str, **facts: Any) -> dict[str, Any]:
    return {
        "family": family,
        "scheme": scheme,
        "scope": scope,
        "numbered": False,
        "block_start": None,
        "block_end": None,
        "quantity": None,
        **facts,
    }
