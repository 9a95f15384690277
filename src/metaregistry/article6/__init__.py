"""Article 6: authorizations as records (versioned, hashed and logged like blocks), issue 19.

``metaregistry.authorization`` holds the record type (pure, importable by connectors);
``tables`` and ``store`` keep it in the index; ``prepare`` takes raw records through the same
steps as blocks; ``cli`` the ``metaregistry article6`` commands.
"""
