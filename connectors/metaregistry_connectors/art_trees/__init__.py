"""ART TREES (``art-trees``): see README.md."""

from metaregistry_connectors.art_trees.connector import REGISTRY, ArtTreesConnector, ArtTreesOptions

__all__ = ["REGISTRY", "ArtTreesConnector", "ArtTreesOptions", "connector"]

connector = ArtTreesConnector()
