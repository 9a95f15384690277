"""``jcm``: the Joint Crediting Mechanism ledgers of Japan and its partners (mock API, see
README.md). One stream per ledger; each ledger is its own registry (``jcm-japan``, ...)."""

from metaregistry_connectors.jcm.connector import LEDGERS, JcmConnector, LedgerStream

__all__ = ["LEDGERS", "JcmConnector", "LedgerStream", "connector"]

connector = JcmConnector()
