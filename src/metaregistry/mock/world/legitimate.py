"""The legitimate patterns (DOMAIN.md): the same units in two registries, consistently. Each
maker writes one case and returns its two blocks; detection should link them, never alert."""

from __future__ import annotations

from typing import Final

from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.model import Block
from metaregistry.mock.world.planting import (
    CONVERSION_REASON,
    TRANSITION_REASON,
    Planted,
    gs_source,
    jcm_issuance,
    size,
    source_and_rest,
    target_used_part,
    transfer,
    verra_source,
    with_status,
)

__all__ = ["compliance_move", "conversion", "jcm_mirror", "tokenization", "transition"]


def conversion(issuer: Issuer, variant: int, partial: bool) -> Planted:
    quantity = size(issuer)
    source = verra_source(issuer, quantity) if variant == 0 else gs_source(issuer, quantity)
    source = source_and_rest(issuer, source, partial)
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "cancelled", day, CONVERSION_REASON))
    target = issuer.converted(source, issuer.after(day, 30))
    used = target_used_part(issuer, target, partial, "Penggunaan untuk pemenuhan kewajiban")
    return Planted(
        source, used, f"{source.registry} units cancelled for conversion, live as SPE-GRK"
    )


def transition(issuer: Issuer, variant: int, partial: bool) -> Planted:
    project = issuer.project("cdm")
    quantity = size(issuer)
    start, end = issuer.numbering.take_cdm(project.country, quantity, quantity + 100)
    source = issuer.cdm(project, start, end, issuer.day())
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "cancelled", day, TRANSITION_REASON))
    target = Block(
        "gold-standard",
        source.serial,
        "cdm",
        source.scope,
        start,
        end,
        "issued",
        project,
        source.vintage,
        issuer.after(day, 60),
        product="CER",
    )
    used = target_used_part(issuer, target, partial, "Retired: voluntary use of transitioned CERs")
    return Planted(source, used, "CDM CERs cancelled in the CDM registry, live in Gold Standard")


def jcm_mirror(issuer: Issuer, variant: int, partial: bool) -> Planted:
    japan, mate = jcm_issuance(issuer, "ID" if variant == 0 else "TH")
    source, target = (mate, japan) if variant == 0 else (japan, mate)
    issuer.add(target)
    a = source.start + issuer.rng.randrange(source.quantity // 2 + 1)
    moved, received = transfer(issuer, source, target, a, source.end)
    issuer.add(moved)
    used = target_used_part(issuer, received, partial, "Retired for NDC use")
    return Planted(moved, used, "JCM holding transferred between ledgers: the legitimate mirror")


_BRIDGES: Final = (("toucan", "Toucan Protocol (TCO2)"), ("regen", "Regen Ledger (C01)"))


def tokenization(issuer: Issuer, variant: int, partial: bool) -> Planted:
    bridge, label = _BRIDGES[variant]
    source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "retired", day, f"Retired for tokenization: bridged to {label}"))
    token = issuer.bridged(bridge, source, source.start, source.end, day)
    used = target_used_part(issuer, token, partial, "Retired on-chain (offset claim)")
    return Planted(source, used, f"Verra VCUs retired for tokenization, live on {bridge}")


def compliance_move(issuer: Issuer, variant: int, partial: bool) -> Planted:
    registry = "acr" if variant == 0 else "car"
    project = issuer.project(registry)
    day = issuer.day()
    batch = issuer.numbering.batch(registry, 3000 if registry == "acr" else 9000)
    source = issuer.us_registry(registry, project, issuer.vintage(day), batch, 1, size(issuer), day)
    source = source_and_rest(issuer, source, partial)
    reason = "Convert to ARB offset credits" if registry == "acr" else "ARB"
    issuer.add(with_status(source, "cancelled", issuer.after(day), reason))
    native = f"CAFR{5000 + issuer.rng.randrange(5000)}-A"
    carb = issuer.held_elsewhere(
        "carb", source, source.start, source.end, native, source.status_on or day
    )
    used = target_used_part(issuer, carb, partial, "Retired for compliance (4th compliance period)")
    return Planted(source, used, f"{registry.upper()} credits moved into California's program")
