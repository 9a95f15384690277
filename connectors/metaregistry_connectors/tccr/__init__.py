"""``tccr``: Thailand's TCCR (T-VER and Premium T-VER, Article 6 transfers; mock API, see
README.md)."""

from metaregistry_connectors.tccr.connector import (
    CSV_COLUMNS,
    CreditsApiStream,
    CsvExportStream,
    TccrConnector,
)

__all__ = ["CSV_COLUMNS", "CreditsApiStream", "CsvExportStream", "TccrConnector", "connector"]

connector = TccrConnector()
