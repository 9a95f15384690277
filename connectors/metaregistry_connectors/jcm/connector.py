"""The JCM connector: one cursor-paged stream per country ledger.

Both ledgers of a partnership number an issuance the same way (one numbering, disjoint share
sub-ranges), so a holding's range is read from its serial and compared across ledgers as is;
a holding received from another ledger names the transferred holding in ``origin_serial``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

import httpx
from pydantic import Field

from metaregistry.authorization import Authorization
from metaregistry.connector import (
    SLUG,
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    FatalSourceError,
    HttpStream,
    Page,
    RawRecord,
    RecordError,
    RequestSpec,
)
from metaregistry.model import UnitBlock
from metaregistry_connectors.srn_ppi.fields import (
    as_raw,
    integer,
    iso_date,
    json_body,
    lookup,
    optional_lookup,
    optional_text,
    parse,
    read_json_records,
    text,
)

__all__ = ["LEDGERS", "AuthorizationsStream", "JcmConnector", "LedgerStream", "registry_of"]

#: The ledgers the mock serves, each its own registry ``jcm-<ledger>``.
LEDGERS: Final = ("japan", "indonesia", "thailand")
DEFAULT_PAGE_SIZE: Final = 500

STATUS: Final = {
    "holding": "issued",
    "retired": "retired",
    "cancelled": "cancelled",
    "transferred": "transferred",
    "pending": "pending",
}
PURPOSE: Final = {"NDC": "ndc", "OIMP": "oimp", "NDC+OIMP": "ndc-and-oimp"}
CORRESPONDING_ADJUSTMENT: Final = {
    "not required": "not-required",
    "pending": "pending",
    "applied": "applied",
    "not applied": "not-applied",
}


def registry_of(ledger: str) -> str:
    """The registry slug of a ledger: ``japan`` -> ``jcm-japan``."""
    return f"jcm-{ledger}"


class LedgerStream(HttpStream):
    """``GET /ledgers/{ledger}/credits?limit=M&cursor=C`` until ``next_cursor`` is null."""

    def __init__(self, base_url: str, ledger: str, token: str | None, page_size: int) -> None:
        self.name = ledger  # type: ignore[misc]  # one stream per ledger, named after it
        self.ledger = ledger
        self.url = f"{base_url.rstrip('/')}/ledgers/{ledger}/credits"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.page_size = page_size

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        resume = None
        if cursor and not cursor.get("_complete"):
            resume = cursor.get("cursor")
        return self._request(str(resume) if resume else None)

    def _request(self, cursor: str | None) -> RequestSpec:
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor is not None:
            params["cursor"] = cursor
        return RequestSpec(
            method="GET",
            url=self.url,
            params=params,
            headers=self.headers,
            token=f"cursor={cursor or ''}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        body = json_body(response)
        items, following = body.get("items"), body.get("next_cursor")
        if not isinstance(items, list) or not (following is None or isinstance(following, str)):
            raise FatalSourceError(f"{response.url}: response lacks 'items' and 'next_cursor'")
        at = request.params.get("cursor", "start")
        records = [
            as_raw(item, f"{self.ledger} {at}:{i}", self.name) for i, item in enumerate(items)
        ]
        more = following is not None and bool(items)
        return Page(
            records=records,
            cursor={"cursor": following} if following else {},
            next_request=self._request(following) if more and following else None,
        )


class AuthorizationsStream(LedgerStream):
    """``GET /authorizations?limit=M&cursor=C``: JCM projects' ITMO authorizations by both
    parties (Article 6), cursor-paged like the ledgers."""

    record_type: ClassVar[Literal["unit_block", "authorization"]] = "authorization"

    def __init__(self, base_url: str, token: str | None, page_size: int) -> None:
        super().__init__(base_url, "authorizations", token, page_size)
        self.url = f"{base_url.rstrip('/')}/authorizations"


class JcmOptions(ConnectorOptions):
    """``[connectors.jcm]`` options."""

    ledgers: tuple[Annotated[str, Field(pattern=SLUG.pattern)], ...] = Field(
        LEDGERS, min_length=1, description="the ledgers to sync"
    )
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description="records per page")
    authorizations: bool = Field(
        True, description="also sync the projects' ITMO authorizations (`/authorizations`)"
    )


class JcmConnector(Connector):
    name: ClassVar[str] = "jcm"
    registries: ClassVar[tuple[str, ...]] = tuple(registry_of(ledger) for ledger in LEDGERS)
    raw_schema: ClassVar[str | None] = "raw/jcm/holding.schema.json"
    description: ClassVar[str] = "JCM registries: Japan's and partners' ledgers (mock API)"

    options_model: ClassVar[type[ConnectorOptions]] = JcmOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: JcmOptions = self.options(config)
        if not config.base_url:
            raise FatalSourceError("jcm needs base_url (the JCM registries have no public API)")
        streams: list[HttpStream] = [
            LedgerStream(config.base_url, ledger, config.token, options.page_size)
            for ledger in options.ledgers
        ]
        if options.authorizations:
            streams.append(AuthorizationsStream(config.base_url, config.token, options.page_size))
        return tuple(streams)

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        yield from read_json_records(path, path.stem)

    def normalize_authorization(self, record: RawRecord) -> Authorization:
        """A JCM project's ITMO authorization (README, "Authorizations"): the pre-authorized
        estimate, and which of the two parties authorized it."""
        p = record.payload
        partner = text(p, "partner_country")
        by = [
            party
            for party, flag in (("JP", "authorized_by_japan"), (partner, "authorized_by_partner"))
            if _flag(p, flag)
        ]
        vintages = p.get("vintages")
        if not isinstance(vintages, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in vintages
        ):
            raise RecordError("must be a list of years", field="vintages", value=vintages)
        acquiring = optional_text(p, "acquiring_party")
        return Authorization(
            registry="jcm",
            authorization_id=text(p, "authorization_id"),
            kind="jcm-estimate",
            host_party=partner,
            acquiring_parties=[acquiring] if acquiring else [],
            authorized_by=by,
            date=iso_date(p, "authorization_date") or text(p, "authorization_date"),
            # the index's JCM project ids carry the scheme's prefix (JCM-ID006)
            activity_id=f"JCM-{text(p, 'project_id')}",
            vintage_from=min(vintages) if vintages else None,
            vintage_to=max(vintages) if vintages else None,
            quantity=integer(p, "itmo_quantity"),
            purposes=_PURPOSES[lookup(PURPOSE, p, "purpose")],
            first_transfer=optional_text(p, "first_transfer_at"),
            status=lookup(_LOA_STATUS, p, "status"),
        )

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        ledger = text(p, "ledger")
        if not SLUG.match(ledger):
            raise RecordError("is not a ledger name (kebab-case)", field="ledger", value=ledger)
        serial = text(p, "credit_serial")
        units = parse(serial, "credit_serial")
        auth = p.get("authorization")
        if auth is not None and not isinstance(auth, dict):
            raise RecordError("must be an object or null", field="authorization", value=auth)
        return UnitBlock(
            registry=registry_of(ledger),
            record_id=text(p, "holding_id"),
            serial=serial,
            scheme=units.scheme,
            scope=units.scope,
            block_start=units.block_start,
            block_end=units.block_end,
            quantity=integer(p, "quantity"),
            status=lookup(STATUS, p, "holding_status"),
            project_id=units.project_id,
            vintage_start=units.vintage_start,
            vintage_end=units.vintage_end,
            country=units.country,
            status_reason=optional_text(p, "status_note"),
            status_date=iso_date(p, "status_date"),
            origin=optional_text(p, "origin_serial"),
            authorization_id=optional_text(auth, "loa_ref") if auth else None,
            authorized_purpose=optional_lookup(PURPOSE, auth, "purpose") if auth else None,
            corresponding_adjustment=optional_lookup(CORRESPONDING_ADJUSTMENT, p, "ca_status"),
            first_transfer_date=iso_date(p, "first_transfer_date"),
            itmo_id=optional_text(p, "itmo_id"),
            issuance_total=_issuance_total(p),
        )


_PURPOSES: Final = {"ndc": ["ndc"], "oimp": ["oimp"], "ndc-and-oimp": ["ndc", "oimp"]}
_LOA_STATUS: Final = {"authorized": "active", "amended": "amended", "revoked": "revoked"}


def _flag(payload: Mapping[str, Any], field: str) -> bool:
    value = payload.get(field)
    if not isinstance(value, bool):
        raise RecordError("must be true or false", field=field, value=value)
    return value


def _issuance_total(payload: Mapping[str, Any]) -> int | None:
    """The issuance's total units (both ledgers' shares), kept so that shares reaching past
    it are found (a quantity mismatch); None when the holding does not say."""
    value = payload.get("issuance_total")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RecordError("is not a positive whole number", field="issuance_total", value=value)
    return value
