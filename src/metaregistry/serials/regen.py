"""Regen Ledger credit batch denominations.

Token by token (the ecocredit module's batch denom, as the real C01 batches carry it)::

    C01-001-20150101-20151231-001
    class id-project sequence-start date-end date-batch sequence

* The class id is the credit type abbreviation and a two-digit sequence (``C01``, the
  Verified Carbon Standard class; ``BT01``, ``KSH01``, ``USS01``); the class and the project
  sequence form the on-chain project id (``C01-001``).
* The dates are ``YYYYMMDD``: the batch's ``start_date`` and ``end_date`` (its vintage).
* Denoms of the v1alpha ledger have no project token (``C01-20190101-20191231-001``, as in
  ``credit_batch_iris.md`` of regen-registry-standards); both shapes are read.

A denomination names a batch, never units: Regen credits are fungible inside a batch (amounts
with six decimals), so there is no Regen unit numbering at all. :func:`parse_regen_denom`
reads a denom (``parse-serial`` explains it that way); a C01 batch is numbered in the scheme
of the Verra VCUs it was issued from (its ``vcsRetirementSerialNumber``), never in its own.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Final

from metaregistry.serials.parsed import SerialError
from metaregistry.serials.tokens import digits

__all__ = ["RegenDenom", "looks_like_regen_denom", "parse_regen_denom"]

_CLASS: Final = re.compile(r"([A-Z]{1,3})(\d{2})", re.ASCII)
_FIELDS_V1: Final = ("class_id", "project_sequence", "start_date", "end_date", "batch_sequence")
_FIELDS_ALPHA: Final = ("class_id", "start_date", "end_date", "batch_sequence")


@dataclass(frozen=True, slots=True)
class RegenDenom:
    """What a Regen batch denomination states."""

    denom: str
    class_id: str
    credit_type: str
    project_sequence: str | None
    start_date: str
    end_date: str
    batch_sequence: str

    @property
    def project_id(self) -> str | None:
        """The on-chain project id (``C01-001``); None for a v1alpha denom."""
        if self.project_sequence is None:
            return None
        return f"{self.class_id}-{self.project_sequence}"


def looks_like_regen_denom(text: str) -> bool:
    """A cheap shape test: a class id (``C01``, ``KSH01``) and a dash."""
    head = text.split("-", 1)[0]
    return "-" in text and _CLASS.fullmatch(head) is not None


def parse_regen_denom(text: str) -> RegenDenom:
    """Read a batch denom; ``SerialError`` names the failing token."""
    tokens = text.split("-")
    class_token = tokens[0]
    shape = _CLASS.fullmatch(class_token)
    if shape is None:
        raise SerialError.at(text, class_token, "class_id", "is not a class id such as C01")
    if len(tokens) == len(_FIELDS_V1):
        project: str | None = digits(text, tokens[1], "project_sequence")
        dates = tokens[2:4]
    elif len(tokens) == len(_FIELDS_ALPHA):
        project = None
        dates = tokens[1:3]
    elif len(tokens) < len(_FIELDS_ALPHA):
        raise SerialError.missing(text, _FIELDS_V1[len(tokens)])
    else:
        extra = tokens[len(_FIELDS_V1)]
        raise SerialError(text, extra, f"unexpected token {extra!r} after batch sequence")
    start = _date(text, dates[0], "start_date")
    end = _date(text, dates[1], "end_date")
    if end < start:
        raise SerialError.at(text, dates[1], "end_date", f"is before start date {start}")
    return RegenDenom(
        denom=text,
        class_id=class_token,
        credit_type=shape.group(1),
        project_sequence=project,
        start_date=start,
        end_date=end,
        batch_sequence=digits(text, tokens[-1], "batch_sequence"),
    )


def _date(serial: str, token: str, field: str) -> str:
    if len(token) != 8 or not (token.isdigit() and token.isascii()):
        raise SerialError.at(serial, token, field, "is not a YYYYMMDD date")
    try:
        return datetime.date(int(token[:4]), int(token[4:6]), int(token[6:])).isoformat()
    except ValueError:
        raise SerialError.at(serial, token, field, "is not a valid date") from None
