"""American Carbon Registry (``acr``): see README.md."""

from metaregistry_connectors.acr.connector import REGISTRY, AcrConnector, AcrOptions

__all__ = ["REGISTRY", "AcrConnector", "AcrOptions", "connector"]

connector = AcrConnector()
