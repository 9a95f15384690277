"""What the benchmark ran on, printed beside the figures."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from typing import Any


def describe(pg_url: str | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
            memory_gib = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory_gib,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
    }
    if pg_url:
        try:
            import sqlalchemy as sa

            from metaregistry.index.db import create_engine

            engine = create_engine(pg_url)
            with engine.connect() as conn:
                info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
            engine.dispose()
            del sa
        except Exception as exc:  # reported, not fatal: the SQLite figures still stand
            info["postgresql"] = f"unavailable: {exc}"
    return info
