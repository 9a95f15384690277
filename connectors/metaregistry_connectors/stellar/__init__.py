"""Stellarcarbon's CARBON tokens on Stellar: the sc-audit tables, as files or from sc-data.

``connector`` is the instance the ``metaregistry.connectors`` entry point ``stellar`` loads.
"""

from metaregistry_connectors.stellar.connector import StellarConnector, StellarOptions

__all__ = ["StellarConnector", "StellarOptions", "connector"]

connector = StellarConnector()
