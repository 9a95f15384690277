"""California ARB offset credits (``carb``): see README.md."""

from metaregistry_connectors.carb.connector import CarbConnector, CarbOptions, issuance_block

__all__ = ["CarbConnector", "CarbOptions", "connector", "issuance_block"]

connector = CarbConnector()
