"""What ACR, CAR and ART TREES exports share (the three registries publish their reports from
the same APX platform, with the same shapes): report tables described column by column
(:mod:`.tables`), and a stream that downloads a public report (:mod:`.report`).

Each registry keeps its own connector sub-package (``acr``, ``car``, ``art_trees``) with its
column table and README; this package holds no registry of its own.
"""
