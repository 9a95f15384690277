"""metaregistry: a federated meta-registry for carbon credits.

It pulls unit records from registries through connectors, normalizes them into unit blocks,
keeps every version in an index, finds serial ranges counted in more than one registry and
proves in a Merkle log that the index was never rewritten.
"""

from metaregistry.model import (
    AuthorizedPurpose,
    CorrespondingAdjustment,
    Status,
    UnitBlock,
)

__all__ = ["AuthorizedPurpose", "CorrespondingAdjustment", "Status", "UnitBlock", "__version__"]
__version__ = "0.1.0"
