"""Article 6 authorizations: the second record type of metaregistry (issue 19).

An :class:`Authorization` is a host party's decision about mitigation outcomes, kept as a
record of its own beside the unit blocks, versioned like them (every version kept, hashed
and logged). Four kinds, from current practice:

* ``loa``: a Letter of Authorization under Article 6.2: the host authorizes an activity's
  units of some vintages, up to a quantity, for use towards acquiring parties' NDCs and/or
  other international mitigation purposes (OIMP: CORSIA, Singapore's carbon tax ...), and
  says when the *first transfer* happens (at authorization, at issuance, or at use).
* ``loack``: a letter of acknowledgement (World Bank template, 2024): the activity is known to
  the host but *outside* authorization; its units are not to be transferred.
* ``results-based-payment``: Article 6.8 / "mode 1": a party paid for results and took no
  claim (Norway paid Indonesia for 11.2 Mt of reduced deforestation in 2016/17); the
  reductions stay with the host's NDC. ``acquiring_parties`` names the party that paid.
* ``jcm-estimate``: a JCM project registered with a pre-authorized estimate of ITMOs, authorized
  by both parties (``authorized_by``); the issued amount is confirmed later.

``status`` is ``active``, ``amended`` (a later version changed terms; the record's versions
hold every wording) or ``revoked``. Parties are ISO 3166-1 alpha-2 codes, as
``UnitBlock.country``; vintages and periods are years.

``content()`` is what ``record_hash`` covers, as for blocks: the content fields that are set.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Final


class AuthorizationKind(enum.StrEnum):
    LOA = "loa"
    LOACK = "loack"
    RESULTS_BASED_PAYMENT = "results-based-payment"
    JCM_ESTIMATE = "jcm-estimate"


class AuthorizationStatus(enum.StrEnum):
    ACTIVE = "active"
    AMENDED = "amended"
    REVOKED = "revoked"


class FirstTransferAt(enum.StrEnum):
    """When the host counts the first transfer (decision 2/CMA.3, annex, para 2(b))."""

    AUTHORIZATION = "authorization"
    ISSUANCE = "issuance"
    USE = "use"


class Purpose(enum.StrEnum):
    NDC = "ndc"
    OIMP = "oimp"


#: OIMP uses the index knows by name (an LoA may name others; they are kept as written).
KNOWN_OIMP_USES: Final = ("corsia", "sg-icc")

#: Content fields in schema order; ``record_hash`` covers the ones that are set.
CONTENT_FIELDS: Final = (
    "registry",
    "authorization_id",
    "kind",
    "host_party",
    "acquiring_parties",
    "authorized_by",
    "date",
    "activity_id",
    "vintage_from",
    "vintage_to",
    "quantity",
    "purposes",
    "oimp_uses",
    "first_transfer",
    "status",
    "status_date",
    "jurisdiction",
    "reference",
)
COMPUTED_FIELDS: Final = ("observed_at", "raw_hash", "record_hash")
ALL_FIELDS: Final = CONTENT_FIELDS + COMPUTED_FIELDS
_LIST_FIELDS: Final = ("acquiring_parties", "authorized_by", "purposes", "oimp_uses")


@dataclass(slots=True, kw_only=True)
class Authorization:
    """One authorization as one registry publishes it. List fields are kept sorted and
    without duplicates (so the same facts hash the same whatever order a source lists them);
    dates are ISO ``YYYY-MM-DD``."""

    registry: str
    authorization_id: str
    kind: str
    host_party: str
    date: str
    status: str = AuthorizationStatus.ACTIVE.value
    acquiring_parties: list[str] = dataclasses.field(default_factory=list)
    #: The parties whose authorization the record carries (the host for an LoA; both for JCM).
    authorized_by: list[str] = dataclasses.field(default_factory=list)
    #: The activity (project) the authorization covers, in the registry's project ids.
    activity_id: str | None = None
    vintage_from: int | None = None
    vintage_to: int | None = None
    #: Authorized tonnes (LoA), pre-authorized estimate (JCM), tonnes paid for (6.8).
    quantity: int | None = None
    purposes: list[str] = dataclasses.field(default_factory=list)
    oimp_uses: list[str] = dataclasses.field(default_factory=list)
    first_transfer: str | None = None
    status_date: str | None = None
    #: A results-based payment's jurisdiction (a province, a national programme).
    jurisdiction: str | None = None
    #: Where the letter itself is published (a URL or document number).
    reference: str | None = None
    observed_at: str | None = None
    raw_hash: str | None = None
    record_hash: str | None = None

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            setattr(self, name, sorted(set(getattr(self, name))))

    def content(self) -> dict[str, Any]:
        """The content fields that are set (nulls and empty lists omitted)."""
        out: dict[str, Any] = {}
        for name in CONTENT_FIELDS:
            value = getattr(self, name)
            if value is not None and value != []:
                out[name] = list(value) if isinstance(value, list) else value
        return out

    def to_json(self) -> dict[str, Any]:
        out = self.content()
        for name in COMPUTED_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Authorization:
        return cls(**{k: data[k] for k in ALL_FIELDS if k in data})

    @property
    def key(self) -> tuple[str, str]:
        return (self.registry, self.authorization_id)

    def covers_vintage(self, year: int) -> bool:
        """Whether ``year`` is within the authorized vintages (open ends cover all)."""
        low = self.vintage_from if self.vintage_from is not None else year
        high = self.vintage_to if self.vintage_to is not None else year
        return low <= year <= high

    def replace(self, **changes: Any) -> Authorization:
        return dataclasses.replace(self, **changes)
