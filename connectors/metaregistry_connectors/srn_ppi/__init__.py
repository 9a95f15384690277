"""``srn-ppi``: Indonesia's national registry SRN-PPI (mock API; see README.md).

SPE-GRK certificates, Verra and Gold Standard credits converted to SPE-GRK (numbered in their
source scheme, the source serial in ``origin``), and the Article 6 state of units authorized
for transfer (Letter of Authorization, corresponding adjustment, ITMO first transfer).
"""

from metaregistry_connectors.srn_ppi.connector import SrnPpiConnector, UnitKarbonStream

__all__ = ["SrnPpiConnector", "UnitKarbonStream", "connector"]

connector = SrnPpiConnector()
