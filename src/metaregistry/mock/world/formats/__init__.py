"""How each registry prints a block: one module per registry, each with ``path(registry)``
(the world file, relative to the world directory), ``record_id(block, n)`` (the id the
registry gives its ``n``-th record, which its connector reads back as ``record_id``) and
``record(block)`` (the JSON object one line of the world file holds).

Swapping a format (say, Verra's transactions-CSV shape instead of its search API) means
swapping one module here; :func:`format_of` is the only lookup.
"""

from __future__ import annotations

from types import ModuleType

from metaregistry.mock.world.formats import (
    apx,
    carb,
    gold_standard,
    jcm,
    regen,
    srn_ppi,
    tccr,
    verra,
)
from metaregistry.mock.world.formats import generic as generic_format

__all__ = ["format_of"]

_BY_REGISTRY: dict[str, ModuleType] = {
    "verra": verra,
    "gold-standard": gold_standard,
    "srn-ppi": srn_ppi,
    "tccr": tccr,
    "acr": apx,
    "car": apx,
    "regen": regen,
    "carb": carb,
}


def format_of(registry: str) -> ModuleType:
    """The format module of a registry slug (``jcm-*`` ledgers share one; ACR and CAR their
    APX reports, Regen its C01 batch table, CARB its issuance table; every other registry,
    Toucan and the CDM registry, is written as a ``generic`` file)."""
    if registry.startswith("jcm-"):
        return jcm
    return _BY_REGISTRY.get(registry, generic_format)
