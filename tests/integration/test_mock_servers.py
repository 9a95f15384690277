"""The mock registries as real processes on real ports: each API's shape, auth, paging and
every fault, driven with httpx.

The worlds here are small and hand-made (records shaped as the connector READMEs say) so
these tests do not depend on the scenario generator; tests/integration/test_mock_sync.py
syncs generated worlds through the real connectors.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from metaregistry.mock.server import FaultSpec, MockStartError, malformed_records, spawn
from metaregistry.mock.server.command import mock_registry_command
from metaregistry.mock.server.tccr import FIELDS

TOKEN = "s3cret"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
RECORDS = {"srn-ppi": 230, "tccr": 130, "jcm": 140, "verra": 2100, "gold-standard": 90}


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def _srn(n: int) -> dict[str, Any]:
    converted = n % 5 == 0
    return {
        "id_unit": f"SRN-U-{n:010d}",
        "nomor_seri": f"IDN-SPEGRK-PPI2021000412-2023-{n:06d}-1-500",
        "jenis_unit": "SPE-GRK Konversi VCU" if converted else "SPE-GRK",
        "nomor_seri_asal": (
            f"19385-{941467007 + n * 500}-{941467506 + n * 500}-VCS-VCU-1507-VER-ID-14-1340-"
            "01012020-31122020-1"
            if converted
            else None
        ),
        "registri_asal": "Verra" if converted else None,
        "jumlah_unit": 500,
        "status_unit": "Diterbitkan",
        "tahun_vintage": 2023,
    }


def _tccr(n: int) -> dict[str, Any]:
    return {
        "credit_id": f"TC-{n:09d}",
        "serial_no": f"TVER-P-0412-2566-{n:05d}-1-1916",
        "credit_type": "Premium T-VER",
        "project_code": "TVER-P-0412",
        "project_name_en": 'Bangkok e-bus, "Phase 1"',
        "province": "Bangkok",
        "vintage_be": 2566,
        "volume_tco2e": 1916,
        "credit_status": "Active",
        "issue_date_be": "15/03/2567",
        "status_date_be": None,
        "status_remark": None,
    }


def _jcm(ledger: str, n: int) -> dict[str, Any]:
    return {
        "holding_id": f"{ledger[:2].upper()}-{n:010d}",
        "ledger": ledger,
        "credit_serial": f"JCM-ID-ID012-2022-{n:04d}-1-600",
        "quantity": 600,
        "holding_status": "holding",
    }


def _verra(n: int) -> dict[str, Any]:
    start = 941467007 + n * 100
    return {
        "serialNumbers": f"19385-{start}-{start + 99}-VCS-VCU-1507-VER-ET-14-1340-01012020-"
        "31122020-1",
        "quantity": "100",
        "stateCode": "ISSUED",
    }


def _gold_standard(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "number_of_credits": n,
        "serial_number": f"GS1-1-UG-GS11236-16-2024-{30000 + n}-1-{n}",
        "status": ("ISSUED", "RETIRED", "CANCELLED")[n % 3],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world")
    _write(root / "srn-ppi/unit-karbon.ndjson", [_srn(n) for n in range(RECORDS["srn-ppi"])])
    _write(root / "tccr/tver-credits.ndjson", [_tccr(n) for n in range(RECORDS["tccr"])])
    for ledger in ("japan", "indonesia"):
        _write(root / f"jcm/{ledger}.ndjson", [_jcm(ledger, n) for n in range(RECORDS["jcm"])])
    _write(root / "verra/vcus.ndjson", [_verra(n) for n in range(RECORDS["verra"])])
    _write(
        root / "gold-standard/credits.ndjson",
        [_gold_standard(n) for n in range(1, RECORDS["gold-standard"] + 1)],
    )
    return root


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def srn(world: Path) -> Iterator[str]:
    with spawn("srn-ppi", world, token=TOKEN) as mock:
        yield mock.url


def test_srn_ppi_pages_by_number_behind_a_bearer_token(srn: str, world: Path) -> None:
    expected = _lines(world / "srn-ppi/unit-karbon.ndjson")
    with httpx.Client(base_url=srn, headers=BEARER) as client:
        seen: list[dict[str, Any]] = []
        page = 1
        while True:
            body = client.get("/api/v1/unit-karbon", params={"halaman": page, "per_halaman": 50})
            assert body.status_code == 200
            data = body.json()
            assert data["meta"] == {
                "halaman": page,
                "per_halaman": 50,
                "total_data": len(expected),
                "total_halaman": 5,
            }
            seen += data["data"]
            if page >= data["meta"]["total_halaman"]:
                break
            page += 1
        assert seen == expected
        past = client.get("/api/v1/unit-karbon", params={"halaman": 99}).json()
        assert past["data"] == []
        capped = client.get("/api/v1/unit-karbon", params={"per_halaman": 5000}).json()
        assert capped["meta"]["per_halaman"] == 1000
        assert len(capped["data"]) == len(expected)
        bad = client.get("/api/v1/unit-karbon", params={"halaman": "dua"})
        assert bad.status_code == 400
        assert "halaman" in bad.json()["galat"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_srn_ppi_refuses_a_missing_or_wrong_token(srn: str, headers: dict[str, str]) -> None:
    response = httpx.get(f"{srn}/api/v1/unit-karbon", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"galat": "token tidak valid"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_jcm_serves_each_ledger_under_its_path_with_cursor_paging(world: Path) -> None:
    with (
        spawn("jcm", world, token=TOKEN) as mock,
        httpx.Client(base_url=mock.url, headers=BEARER) as client,
    ):
        assert client.get("/ledgers").json() == {"ledgers": ["indonesia", "japan"]}
        for ledger in ("japan", "indonesia"):
            items: list[dict[str, Any]] = []
            cursors: list[str] = []
            params: dict[str, Any] = {"limit": 30}
            while True:
                body = client.get(f"/ledgers/{ledger}/credits", params=params).json()
                assert body["ledger"] == ledger
                items += body["items"]
                if body["next_cursor"] is None:
                    break
                cursors.append(body["next_cursor"])
                params = {"limit": 30, "cursor": body["next_cursor"]}
            assert items == _lines(world / f"jcm/{ledger}.ndjson")
            assert len(set(cursors)) == len(cursors) == 4
        unknown = client.get("/ledgers/mongolia/credits")
        assert (unknown.status_code, unknown.json()) == (404, {"error": "unknown ledger"})
        forged = client.get("/ledgers/japan/credits", params={"cursor": "bm90LWEtY3Vyc29y"})
        assert (forged.status_code, forged.json()) == (400, {"error": "invalid cursor"})
        assert httpx.get(f"{mock.url}/ledgers").status_code == 401


def test_tccr_exports_csv_with_an_etag_and_pages_its_json_api(world: Path) -> None:
    expected = _lines(world / "tccr/tver-credits.ndjson")
    with spawn("tccr", world) as mock, httpx.Client(base_url=mock.url) as client:
        export = client.get("/export/tver-credits.csv")
        assert export.status_code == 200
        assert export.headers["content-type"] == "text/csv; charset=utf-8"
        assert export.content.startswith(codecs.BOM_UTF8)
        assert b"\r\n" in export.content
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"), newline="")))
        assert tuple(rows[0]) == FIELDS
        assert int(export.headers["X-Record-Count"]) == len(rows) - 1 == len(expected)
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first["project_name_en"] == 'Bangkok e-bus, "Phase 1"'
        assert (first["volume_tco2e"], first["status_date_be"]) == ("1916", "")
        etag = export.headers["ETag"]
        again = client.get("/export/tver-credits.csv", headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        stale = client.get("/export/tver-credits.csv", headers={"If-None-Match": '"old"'})
        assert stale.status_code == 200

        results: list[dict[str, Any]] = []
        link: str | None = "/api/v2/credits?limit=40"
        while link:
            body = client.get(link).json()
            assert body["count"] == len(expected)
            results += body["results"]
            link = body["next"]
        assert results == expected
        capped = client.get("/api/v2/credits", params={"limit": 99999}).json()
        assert len(capped["results"]) == len(expected) and capped["next"] is None


def test_verra_search_pages_by_offset_with_top_capped_at_2000(world: Path) -> None:
    expected = _lines(world / "verra/vcus.ndjson")
    with spawn("verra", world, token="ignored") as mock, httpx.Client(base_url=mock.url) as client:
        path = "/uiapi/asset/asset/search"
        first = client.post(path, params={"$skip": 0, "$top": 5000, "$count": "true"}, json={})
        body = first.json()
        assert body["totalCount"] == len(expected)
        assert len(body["value"]) == 2000
        rest = client.post(path, params={"$skip": 2000, "$top": 2000}, json={"program": "VCS"})
        assert body["value"] + rest.json()["value"] == expected
        broken = client.post(path, content=b"{not json", headers={"Content-Type": "text/plain"})
        assert broken.status_code == 400


def test_gold_standard_lists_newest_first_in_pages_of_25_for_browsers(world: Path) -> None:
    records = _lines(world / "gold-standard/credits.ndjson")
    with (
        spawn("gold-standard", world) as mock,
        httpx.Client(base_url=mock.url, headers=BROWSER) as client,
    ):
        for issuances, statuses in (("true", {"ISSUED"}), ("false", {"RETIRED", "CANCELLED"})):
            wanted = sorted(
                (r for r in records if r["status"] in statuses), key=lambda r: -int(r["id"])
            )
            seen: list[dict[str, Any]] = []
            for page in range(1, 4):
                response = client.get(
                    "/credits", params={"page": page, "size": 25, "issuances": issuances}
                )
                assert response.headers["X-Total-Count"] == str(len(wanted))
                assert response.headers["X-Total-Number-Of-Credits"] == str(
                    sum(r["number_of_credits"] for r in wanted)
                )
                seen += response.json()
            assert seen == wanted
        assert client.get("/credits", params={"page": 9}).json() == []
        assert client.get("/credits", params={"size": 26}).status_code == 403
        robot = httpx.get(f"{mock.url}/credits", headers={"User-Agent": "python-httpx/0.28"})
        assert robot.status_code == 403
        assert "blocked" in robot.text


FAULTS = (
    "429=0.15,5xx=0.15,truncate=0.15,slow=0.15,repeat=0.2,malformed=0.05,"
    "retry-after=0,slow-seconds=0.05"
)


def _get_retrying(client: httpx.Client, url: str, **kwargs: Any) -> tuple[Any, list[str]]:
    """What a correct client does: retry 429, 5xx, cut-off bodies; returns the JSON and the
    failures met on the way."""
    failures: list[str] = []
    for _ in range(10):
        try:
            response = client.get(url, **kwargs)
        except httpx.TransportError as exc:
            failures.append(type(exc).__name__)
            continue
        if response.status_code == 429:
            assert response.headers["Retry-After"] == "0"
            failures.append("429")
            continue
        if response.status_code >= 500:
            failures.append(str(response.status_code))
            continue
        try:
            return response.json(), failures
        except json.JSONDecodeError:
            failures.append("cut-off JSON")
    raise AssertionError(f"{url} still failing after 10 attempts: {failures}")


def test_a_retrying_client_gets_every_record_despite_faults(world: Path) -> None:
    spec = FaultSpec.parse(FAULTS, seed=4)
    expected = _lines(world / "srn-ppi/unit-karbon.ndjson")
    malformed = {m.record_id: m for m in malformed_records("srn-ppi", world, spec)}
    assert malformed, "the fault seed should corrupt some of 230 records at 5%"
    with spawn("srn-ppi", world, faults=FAULTS, fault_seed=4, token=TOKEN) as mock:
        failures: list[str] = []
        served: list[dict[str, Any]] = []
        with httpx.Client(base_url=mock.url, headers=BEARER) as client:
            for page in range(1, 48):
                body, met = _get_retrying(
                    client, "/api/v1/unit-karbon", params={"halaman": page, "per_halaman": 5}
                )
                failures += met
                served += body["data"]
            listed = client.get("/_mock/malformed").json()
            stats = client.get("/_mock/stats").json()["served"]
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in served:
        by_id.setdefault(record["id_unit"], []).append(record)
    assert list(by_id) == [r["id_unit"] for r in expected]  # everything, in order
    assert len(served) > len(expected)  # some pages came twice
    assert all(len({json.dumps(r) for r in copies}) == 1 for copies in by_id.values())
    broken = {
        rid: copies[0]
        for rid, copies in by_id.items()
        if copies[0] != next(r for r in expected if r["id_unit"] == rid)
    }
    assert set(broken) == set(malformed)
    for rid, record in broken.items():
        assert record[malformed[rid].field] == malformed[rid].value
    assert [r["record_id"] for r in listed["records"]] == list(malformed)
    assert {"429", "cut-off JSON", "RemoteProtocolError"} <= set(failures)
    assert any(f in failures for f in ("500", "502", "503", "504"))
    assert stats["429"] > 0 and stats["repeat"] > 0 and stats["slow"] > 0


def test_a_repeated_jcm_page_comes_under_a_new_cursor(world: Path) -> None:
    with spawn("jcm", world, faults="repeat=1") as mock, httpx.Client(base_url=mock.url) as client:
        items: list[str] = []
        cursors: list[str] = []
        params: dict[str, Any] = {"limit": 50}
        while True:
            body = client.get("/ledgers/japan/credits", params=params).json()
            items += [item["holding_id"] for item in body["items"]]
            if body["next_cursor"] is None:
                break
            cursors.append(body["next_cursor"])
            params = {"limit": 50, "cursor": body["next_cursor"]}
    assert len(set(cursors)) == len(cursors)
    # Pages 2 and 3 each brought the page before them again first.
    assert len(items) == RECORDS["jcm"] + 100
    assert sorted(set(items)) == [f"JA-{n:010d}" for n in range(RECORDS["jcm"])]


def test_a_repeated_tccr_export_counts_its_duplicate_rows(world: Path) -> None:
    with spawn("tccr", world, faults="repeat=1") as mock:
        export = httpx.get(f"{mock.url}/export/tver-credits.csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"), newline="")))
    assert int(export.headers["X-Record-Count"]) == len(rows) > RECORDS["tccr"]
    assert len({row["credit_id"] for row in rows}) == RECORDS["tccr"]


def test_a_request_that_keeps_failing_succeeds_on_the_fourth_attempt(world: Path) -> None:
    with spawn("tccr", world, faults="truncate=1,max-consecutive=3") as mock:
        outcomes = []
        for _ in range(4):
            try:
                response = httpx.get(f"{mock.url}/export/tver-credits.csv")
            except httpx.RemoteProtocolError:
                outcomes.append("cut")
                continue
            count = len(response.content.decode("utf-8-sig").splitlines()) - 1
            outcomes.append("ok" if count == int(response.headers["X-Record-Count"]) else "short")
    assert outcomes[:3] == [o for o in outcomes[:3] if o in ("cut", "short")]
    assert outcomes[3] == "ok"


def test_sigterm_stops_the_server_cleanly(world: Path) -> None:
    mock = spawn("jcm", world)
    assert httpx.get(f"{mock.url}/_mock/health").json()["status"] == "ok"
    mock.process.send_signal(signal.SIGTERM)
    assert mock.process.wait(10) == 0
    mock.stop()


def test_the_metaregistry_command_serves_a_mock(world: Path) -> None:
    args = [sys.executable, "-m", "metaregistry", "mock-registry", "tccr", "--port", "0"]
    with subprocess.Popen(
        [*args, "--world", str(world)], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("mock-registry tccr listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert httpx.get(f"{url}/_mock/health").json()["records"] == {
            "tccr/tver-credits.ndjson": RECORDS["tccr"]
        }
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["srn-ppi", "--port", "0", "--faults", "teapot=1"], "unknown kind 'teapot'"),
        (["srn-ppi", "--port", "0", "--faults", "429=2"], "429 must be a rate"),
        (["cadt", "--port", "0"], "'cadt' is not one of"),
        (["srn-ppi", "--port", "0"], "give --world DIR, or --seed S and --records N"),
    ],
)
def test_bad_command_lines_are_refused_with_the_reason(args: list[str], message: str) -> None:
    result = CliRunner().invoke(mock_registry_command, args)
    assert result.exit_code == 2
    assert message in result.output


def test_a_world_without_the_registry_file_fails_to_start(tmp_path: Path) -> None:
    with pytest.raises(MockStartError, match=r"world file not found: .*unit-karbon\.ndjson"):
        spawn("srn-ppi", tmp_path)


def test_a_mock_generates_its_world_from_a_seed_when_given_no_directory() -> None:
    with spawn("jcm", seed=3, records=400) as mock:
        health = httpx.get(f"{mock.url}/_mock/health").json()
        ledgers = httpx.get(f"{mock.url}/ledgers").json()["ledgers"]
    assert ledgers == ["indonesia", "japan", "thailand"]
    assert all(count > 0 for count in health["records"].values())
