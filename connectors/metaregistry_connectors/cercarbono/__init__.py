"""Cercarbono on EcoRegistry: the issued-serial and retirement exports, and the front-end API.

``connector`` is the instance the ``metaregistry.connectors`` entry point ``cercarbono`` loads.
"""

from metaregistry_connectors.cercarbono.connector import CercarbonoConnector, CercarbonoOptions

__all__ = ["CercarbonoConnector", "CercarbonoOptions", "connector"]

connector = CercarbonoConnector()
