"""The scenario generator: one consistent world of carbon registries, with planted cases.

``generate_world(seed, records, out_dir)`` writes, under ``out_dir``:

* each registry's records as it publishes them (``srn-ppi/unit-karbon.ndjson``,
  ``tccr/tver-credits.ndjson``, ``jcm/<ledger>.ndjson``, ``verra/vcus.ndjson``,
  ``gold-standard/credits.ndjson``, which the mock registry servers page through verbatim;
  ACR's and CAR's three public reports ``acr/*.csv``, ``car/*.csv`` and Regen's C01 batch
  table ``regen/c01_credit_batches.csv``; ``generic/<registry>.ndjson`` for Toucan, CARB and
  the CDM registry);
* ``truth.json``: one entry per planted case (``id``, ``pattern``, ``legitimate``, ``blocks``
  with ``registry``, ``record_id``, ``serial``, and ``overlap`` with ``scheme``, ``scope``,
  ``start``, ``end``);
* ``world.json``: the manifest (seed, records per file, per registry the well-formed record
  count and units by status, the malformed records that must end in quarantine).

README.md in this package describes every pattern's construction.
"""

from metaregistry.mock.world.cases import PATTERNS
from metaregistry.mock.world.generate import (
    MIN_RECORDS,
    WorldError,
    cases_per_pattern,
    generate_world,
)
from metaregistry.mock.world.reading import connector_of, world_files, world_records

__all__ = [
    "MIN_RECORDS",
    "PATTERNS",
    "WorldError",
    "cases_per_pattern",
    "connector_of",
    "generate_world",
    "world_files",
    "world_records",
]
