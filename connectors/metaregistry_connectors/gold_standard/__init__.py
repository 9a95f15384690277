"""Gold Standard: the public credits API and the registry's export files.

``connector`` is the instance the ``metaregistry.connectors`` entry point ``gold-standard``
loads.
"""

from metaregistry_connectors.gold_standard.connector import GoldStandardConnector

__all__ = ["GoldStandardConnector", "connector"]

connector = GoldStandardConnector()
