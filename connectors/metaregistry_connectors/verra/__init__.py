"""Verra (VCS registry): the search API and the registry's export files.

``connector`` is the instance the ``metaregistry.connectors`` entry point ``verra`` loads.
"""

from metaregistry_connectors.verra.blocks import UNDISTINGUISHED
from metaregistry_connectors.verra.connector import VerraConnector

__all__ = ["UNDISTINGUISHED", "VerraConnector", "connector"]

connector = VerraConnector()
