"""The connector the APX-hosted registries share: a registry's three public reports, read
from export files or downloaded from its site. Each registry's sub-package declares its
:class:`~metaregistry_connectors.apx.tables.Registry` (the column tables), its options (the
report addresses) and its names; the reading is here, once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pydantic

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    HttpStream,
    RawRecord,
)
from metaregistry.model import UnitBlock
from metaregistry_connectors.apx.report import ReportStream
from metaregistry_connectors.apx.tables import Registry
from metaregistry_connectors.kinds import RecordKinds
from metaregistry_connectors.verra.tabular import read_table

__all__ = ["ReportConnector", "ReportOptions"]


class ReportOptions(ConnectorOptions):
    """Where a registry's public reports are served (paths under ``base_url``; an empty
    path skips that report). Each registry's options give the defaults."""

    issuances_path: str = pydantic.Field("", description="the issuances report")
    retirements_path: str = pydantic.Field("", description="the retirements report")
    cancellations_path: str = pydantic.Field("", description="the cancellations report")
    headers: dict[str, str] = pydantic.Field(
        default_factory=dict, description="extra request headers"
    )


class ReportConnector(Connector):
    """Issuances (quantities per project and vintage, never range compared), retirements and
    cancellations (serial ranges). Files: ``metaregistry import NAME FILE...`` (CSV or
    XLSX, the kind read from the header row). Streams: the three public reports."""

    registry: ClassVar[Registry]
    _kinds: ClassVar[RecordKinds]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._kinds = cls.registry.kinds()

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: ReportOptions = self.options(config)
        base = self.base_url(config).rstrip("/")
        paths = (options.issuances_path, options.retirements_path, options.cancellations_path)
        registry = self.registry
        return [
            ReportStream(
                kind, base + path, registry.label, options.headers, rows=registry.numbered_rows
            )
            for kind, path in zip(registry.file_kinds, paths, strict=True)
            if path
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        registry = self.registry
        return registry.numbered_rows(read_table(path, registry.file_kinds, registry.label))

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return self._kinds.raw_schema(record)

    def normalize(self, record: RawRecord) -> UnitBlock:
        return self._kinds.normalize(record)
