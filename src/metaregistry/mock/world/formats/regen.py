"""Regen Ledger's C01 batch table (the ``regen`` connector's ``batch-table`` kind, the columns
of ``regen-c01-verra-bridge/c01_credit_batches.csv``): one row a batch, its denom
(``C01-<project>-<start>-<end>-<batch>``) and the Verra retirement serial it was issued
from, which numbers its credits in Verra's scheme.

The table records issuances: every row is ``issued`` (``stated_status``), whatever became of
the credits on the ledger later, so a token block the world retired on chain is written, and
counted in the manifest, as the issued batch the table shows.
"""

from __future__ import annotations

from typing import Any, Final

from metaregistry.mock.world.model import Block

__all__ = ["HEADER", "SERIAL_IS_ID", "header", "path", "record", "record_id", "stated_status"]

#: The connector reads the denom as the block's serial and record id.
SERIAL_IS_ID: Final = True

HEADER: Final = (
    "regen_batch_metadata_file",
    "vcs_retirement_serial_number",
    "vcs_project_id",
    "block_start",
    "block_end",
    "quantity_derived",
    "additional_certifications",
)


def path(registry: str) -> str:
    return "regen/c01_credit_batches.csv"


def header(relative: str) -> tuple[str, ...]:
    return HEADER


def stated_status(block: Block) -> str:
    return "issued"


def record_id(block: Block, n: int) -> str:
    """The batch denom: the on-chain project from the VCS project, the vintage's dates, the
    batch's running number."""
    v = block.vintage
    return f"C01-{block.project.number % 1000:03d}-{v}0101-{v}1231-{n:03d}"


def record(block: Block) -> dict[str, Any]:
    return {
        "regen_batch_metadata_file": block.record_id,
        "vcs_retirement_serial_number": block.origin or block.serial,
        "vcs_project_id": str(block.project.number),
        "block_start": str(block.start),
        "block_end": str(block.end),
        "quantity_derived": str(block.quantity),
        "additional_certifications": "",
    }
