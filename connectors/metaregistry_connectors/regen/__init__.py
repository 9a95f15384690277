"""Regen Ledger ecocredit batches: the C01 batch table and the ledger's REST endpoints.

``connector`` is the instance the ``metaregistry.connectors`` entry point ``regen`` loads.
"""

from metaregistry_connectors.regen.connector import RegenConnector, RegenOptions

__all__ = ["RegenConnector", "RegenOptions", "connector"]

connector = RegenConnector()
