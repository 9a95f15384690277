"""The ``peer`` phase: our Verra import beside CarbonPlan's OffsetsDB transform, same file.

Users compare metaregistry with the tool they already run: CarbonPlan's ``offsets-db-data``
reads Verra's transactions export with ``pandas.read_csv`` and ``process_vcs_credits``.
This phase writes one Verra transactions export of ``rows`` rows, then, each in a fresh
child process, times

* ``peer``: ``pd.read_csv`` + ``process_vcs_credits`` on it (their whole transform; the
  imports of pandas and offsets-db-data happen before the clock starts);
* ``ours``: ``metaregistry import verra FILE`` on it, end to end into a new SQLite index (the
  command as a user runs it, through the CLI: read, validate raw and normalized, hash twice,
  store every version, append the log, sign a checkpoint, detect; the interpreter and the
  imports start before the clock).

The export is the real 200-row sample of Verra's transactions export (``verra/
transactions.csv`` of OffsetsDB's snapshot, see ``../shared/data/real/PROVENANCE.md``)
repeated with shifted serials: repeat ``k`` adds ``k * SHIFT`` to each serial's first and last
unit, so every row is a different, well-formed block of its own and nothing repeats. Every
other column is the sample's own.

``offsets-db-data`` is an optional extra (``pip install 'metaregistry[bench]'``); without it,
or without the sample, the phase says why and reports nothing.
"""

from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path
from typing import Any

__all__ = ["SHIFT", "find_sample", "ours_import", "peer_transform", "write_export"]

#: Added per repeat to the units of each serial: above every unit number Verra has issued
#: (about 10^9 today), so repeats never share units.
SHIFT = 10**10
_SERIAL = re.compile(r"^(\d+)-(\d+)-(\d+)-(.+)$")
SAMPLE = Path("carbonplan-offsetsdb") / "verra" / "transactions.csv"


def find_sample(explicit: Path | None = None) -> Path | None:
    """The real Verra sample: ``explicit``, else under ``$METAREGISTRY_REAL_DATA``, else
    ``../shared/data/real`` beside the working directory or the source tree."""
    if explicit is not None:
        return explicit if explicit.is_file() else None
    roots: list[Path] = []
    if os.environ.get("METAREGISTRY_REAL_DATA"):
        roots.append(Path(os.environ["METAREGISTRY_REAL_DATA"]))
    here = Path(__file__).resolve()
    roots += [Path.cwd().parent / "shared" / "data" / "real"]
    roots += [parent.parent / "shared" / "data" / "real" for parent in here.parents[:5]]
    for root in roots:
        if (root / SAMPLE).is_file():
            return root / SAMPLE
    return None


def write_export(sample: Path, rows: int, out: Path) -> dict[str, Any]:
    """Write ``rows`` rows of ``sample`` repeated with shifted serials to ``out``."""
    with sample.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or ())
        base = list(reader)
    usable = [r for r in base if _SERIAL.match(r.get("Serial Number", ""))]
    if not usable:
        raise ValueError(f"{sample}: no row with a current-format Verra serial to repeat")
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for i in range(rows):
            repeat, row = divmod(i, len(usable))
            source = usable[row]
            match = _SERIAL.match(source["Serial Number"])
            assert match is not None
            batch, first, last, rest = match.groups()
            shift = repeat * SHIFT
            writer.writerow(
                {
                    **source,
                    "Serial Number": f"{batch}-{int(first) + shift}-{int(last) + shift}-{rest}",
                }
            )
    return {
        "rows": rows,
        "sample_rows": len(base),
        "sample_rows_repeated": len(usable),
        "bytes": out.stat().st_size,
    }


def peer_transform(params: dict[str, Any]) -> dict[str, Any]:
    """``pd.read_csv`` + ``process_vcs_credits`` on the export (a child process's phase)."""
    try:
        import pandas as pd  # type: ignore[import-untyped,import-not-found,unused-ignore]
        from offsets_db_data.vcs import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            process_vcs_credits,
        )
    except ImportError as exc:
        return {
            "skipped": f"offsets-db-data is not installed ({exc}); "
            "pip install 'metaregistry[bench]'"
        }
    import warnings

    path = params["file"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started, cpu = time.perf_counter(), time.process_time()
        frame = pd.read_csv(path)
        result = process_vcs_credits(frame)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    rows = int(params["rows"])
    return {
        "rows": rows,
        "rows_out": len(result),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
    }


def ours_import(params: dict[str, Any]) -> dict[str, Any]:
    """``metaregistry import verra FILE`` into a new SQLite index, as a user runs it."""
    import contextlib
    import io

    import sqlalchemy as sa

    from metaregistry.cli import main
    from metaregistry.index import store
    from metaregistry.index.db import create_engine

    work = Path(params["workdir"])
    work.mkdir(parents=True, exist_ok=True)
    db = work / "peer-import.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = work / "peer-import.toml"
    config.write_text(
        f'database_url = "sqlite:///{db}"\n\n[log]\nkey_file = "{work / "peer-log-key.pem"}"\n',
        encoding="utf-8",
    )
    args = ["--config", str(config), "import", "verra", str(params["file"])]
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main.main(args=args, prog_name="metaregistry", standalone_mode=False)
        except SystemExit as exc:  # click's exit codes for partial imports
            if exc.code not in (0, None):
                raise RuntimeError(f"import exited {exc.code}: {out.getvalue()[-500:]}") from exc
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        blocks = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar()
        quarantined = conn.execute(
            sa.select(sa.func.count()).select_from(store.quarantine_table)
        ).scalar()
    engine.dispose()
    rows = int(params["rows"])
    return {
        "rows": rows,
        "blocks": int(blocks or 0),
        "quarantined": int(quarantined or 0),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
    }
