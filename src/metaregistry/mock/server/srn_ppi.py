"""The SRN-PPI mock (Indonesia): ``GET /api/v1/unit-karbon?halaman=N&per_halaman=M``.

The API is the one connectors/metaregistry_connectors/srn_ppi/README.md documents: 1-based
page numbers, ``per_halaman`` silently capped at 1000, Indonesian field names and error
bodies (``{"galat": ...}``), bearer token when the server has one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, Route, int_param
from metaregistry.mock.server.authorizations import authorization_dataset
from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import Fault, FaultSpec
from metaregistry.mock.server.reply import Reply, json_reply

__all__ = ["SrnPpiMock"]

WORLD_FILE = "srn-ppi/unit-karbon.ndjson"
LOA_FILE = "srn-ppi/otorisasi.ndjson"
DEFAULT_PAGE = 100
MAX_PAGE = 1000
FORMAT = RecordFormat(
    id_field="id_unit",
    serial_field="nomor_seri",
    quantity_field="jumlah_unit",
    # Converted units are numbered by their Verra/GS source serial.
    origin_field="nomor_seri_asal",
)


class SrnPpiMock(MockRegistry):
    name = "srn-ppi"

    def __init__(self, world: Path, spec: FaultSpec, token: str | None) -> None:
        super().__init__(world, spec, token)
        self.units = Dataset(self.name, WORLD_FILE, world / WORLD_FILE, FORMAT, spec)
        self.loas = authorization_dataset(
            self.name, world, LOA_FILE, "nomor_loa", "volume_diotorisasi", spec
        )

    def datasets(self) -> Sequence[Dataset]:
        return (self.units,)

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/api/v1/unit-karbon", self.unit_karbon),
            Route("GET", "/api/v1/otorisasi", self.otorisasi),
        )

    def unauthorized(self) -> Reply:
        return json_reply(
            {"galat": "token tidak valid"}, status=401, headers={"WWW-Authenticate": "Bearer"}
        )

    def bad_request(self, message: str) -> Reply:
        return json_reply({"galat": message}, status=400)

    def too_many_requests(self, retry_after: float) -> Reply:
        return json_reply(
            {"galat": "terlalu banyak permintaan"},
            status=429,
            headers={"Retry-After": str(max(0, round(retry_after)))},
        )

    async def unit_karbon(self, request: web.Request, fault: Fault | None) -> Reply:
        return self._paged(request, fault, self.units)

    async def otorisasi(self, request: web.Request, fault: Fault | None) -> Reply:
        """Letters of authorization (issue 19), paged like the units."""
        return self._paged(request, fault, self.loas)

    def _paged(self, request: web.Request, fault: Fault | None, records: Dataset | None) -> Reply:
        page = int_param(request, "halaman", 1, minimum=1)
        size = min(int_param(request, "per_halaman", DEFAULT_PAGE, minimum=1), MAX_PAGE)
        total = len(records) if records is not None else 0
        data = (
            records.page((page - 1) * size, size, repeat=fault is Fault.REPEAT)
            if records is not None
            else []
        )
        meta = {
            "halaman": page,
            "per_halaman": size,
            "total_data": total,
            "total_halaman": math.ceil(total / size),
        }
        return json_reply({"data": data, "meta": meta})
