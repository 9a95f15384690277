"""Connectors bundled with metaregistry, one sub-package per registry.

Each is registered under the ``metaregistry.connectors`` entry-point group; see
``metaregistry.connector`` for the contract.
"""
