"""Climate Action Reserve (``car``): see README.md."""

from metaregistry_connectors.car.connector import REGISTRY, CarConnector, CarOptions

__all__ = ["REGISTRY", "CarConnector", "CarOptions", "connector"]

connector = CarConnector()
