"""``generate_world``: one consistent world, written as each registry publishes it.

The world is streamed: ordinary issuances are drawn and written one by one, planted cases are
spread evenly through them, and malformed records (when asked for) too. What stays in memory
is the schedule of the cases (two small integers each), the numbering counters and the
per-registry tallies, so ten million records take the memory of a few thousand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from metaregistry.mock.world.article6_cases import plant_article6_cases
from metaregistry.mock.world.background import background_issuance
from metaregistry.mock.world.cases import PATTERNS
from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.model import Article6, Block, Project
from metaregistry.mock.world.output import Case, WorldWriter
from metaregistry.mock.world.projects import plant_project_cases

__all__ = ["MIN_RECORDS", "WorldError", "cases_per_pattern", "generate_world"]

#: Smallest world that holds one case of every pattern with background around it.
MIN_RECORDS: Final = 100
_PROGRESS_EVERY: Final = 100_000

ProgressFn = Callable[[int, int], None]


class WorldError(ValueError):
    """The generator was asked for a world it cannot build (names the option and value)."""


def cases_per_pattern(records: int) -> int:
    """Enough cases to cover every variant, exact and partial, in all but tiny worlds; about
    one record in 130 planted in large ones."""
    return min(max(8, records // 4000), max(1, records // 150))


@dataclass(frozen=True, slots=True)
class _Malformed:
    registry: str
    field: str
    value: Any
    reason: str


# Each spoils one native field: a bad serial (the grammar rejects it) or a wrong type (the
# raw schema rejects it). Both must end in quarantine, never in the index.
_MALFORMED: Final = (
    _Malformed("srn-ppi", "nomor_seri", "IDN-SPEGRK-??-2023", "bad serial"),
    _Malformed("tccr", "volume_tco2e", "1,916 tCO2e", "wrong type: volume is text"),
    _Malformed("jcm-japan", "credit_serial", "JCM-JP-X1-2022-0001-9-1", "bad serial"),
    _Malformed("srn-ppi", "jumlah_unit", "lima ribu", "wrong type: quantity is text"),
    _Malformed("tccr", "serial_no", "TVER-P-12-2023-1-1-5", "bad serial"),
    _Malformed("jcm-indonesia", "quantity", {"value": 10}, "wrong type: quantity is an object"),
    _Malformed("acr", "Total Credits Issued", "one", "not a number: an ACR issuance quantity"),
)


def generate_world(
    seed: int,
    records: int,
    out_dir: Path,
    progress: ProgressFn | None = None,
    *,
    malformed: int = 0,
    cases: int | None = None,
) -> dict[str, Any]:
    """Write a world of about ``records`` records (at least that many, at most a few more)
    under ``out_dir``: the registries' files, ``truth.json`` and ``world.json``. Returns the
    manifest (``world.json``). Same seed and options, same bytes."""
    if records < MIN_RECORDS:
        raise WorldError(f"records: {records} is too small (at least {MIN_RECORDS})")
    if malformed < 0 or malformed > records // 10:
        raise WorldError(f"malformed: {malformed} must be between 0 and records/10")
    per_pattern = cases_per_pattern(records) if cases is None else cases
    if per_pattern < 1 or per_pattern * len(PATTERNS) * 8 > records:
        raise WorldError(f"cases: {per_pattern} per pattern does not fit in {records} records")
    with WorldWriter(out_dir) as writer:
        issuer = Issuer(seed, writer)
        _bangkok_e_bus(issuer)
        schedule = [(p, j) for p in range(len(PATTERNS)) for j in range(per_pattern)]
        issuer.rng.shuffle(schedule)
        _fill(issuer, records, schedule, malformed, progress)
        # cases only project-level reconciliation sees (issue 17), after the serial ones so
        # those stay as they were for a seed
        plant_project_cases(issuer, per_pattern, out_dir)
        # Article 6 ground truth (issue 19), last so the cases above stay as they were
        plant_article6_cases(issuer, out_dir)
        return writer.finish(seed, records)


def _fill(
    issuer: Issuer,
    records: int,
    schedule: list[tuple[int, int]],
    malformed: int,
    progress: ProgressFn | None,
) -> None:
    writer = issuer.writer
    slots = len(schedule) + 2
    next_case = next_bad = 0
    next_report = _PROGRESS_EVERY
    while True:
        written = writer.written
        if next_case < len(schedule) and written >= (next_case + 1) * records // slots:
            _plant(issuer, next_case, *schedule[next_case])
            next_case += 1
        elif next_bad < malformed and written >= (next_bad + 1) * records // (malformed + 1):
            _spoil(issuer, next_bad)
            next_bad += 1
        elif written >= records - (malformed - next_bad):
            if next_case >= len(schedule) and next_bad >= malformed:
                break
            if next_case < len(schedule):
                _plant(issuer, next_case, *schedule[next_case])
                next_case += 1
            else:
                _spoil(issuer, next_bad)
                next_bad += 1
        elif records - written < 5:
            _filler(issuer)
        else:
            background_issuance(issuer)
        if progress is not None and writer.written >= next_report:
            progress(writer.written, records)
            next_report += _PROGRESS_EVERY
    if progress is not None:
        progress(writer.written, records)


def _plant(issuer: Issuer, index: int, pattern_index: int, round_: int) -> None:
    pattern = PATTERNS[pattern_index]
    variant = round_ % pattern.variants
    partial = (round_ // pattern.variants) % 2 == 1
    planted = pattern.make(issuer, variant, partial)
    first, second = planted.first, planted.second
    if (first.scheme, first.scope) != (second.scheme, second.scope):
        raise AssertionError(f"{pattern.name}: blocks of different numberings")  # a generator bug
    start, end = max(first.start, second.start), min(first.end, second.end)
    if not (planted.kind or pattern.kind):
        raise AssertionError(f"{pattern.name}: a case without a kind")  # a generator bug
    if start > end:
        raise AssertionError(f"{pattern.name}: planted blocks do not overlap")  # a generator bug
    issuer.writer.plant(
        Case(
            id=f"case-{index + 1:06d}",
            pattern=pattern.name,
            legitimate=pattern.legitimate,
            blocks=[first, second],
            overlap=(first.scheme, first.scope, start, end),
            note=f"{planted.note} ({'partial' if partial else 'exact'} overlap, variant {variant})",
            kind=planted.kind or pattern.kind,
            severity=planted.severity,
        )
    )


def _filler(issuer: Issuer) -> None:
    """One single-record issuance (to land on the record count)."""
    day = issuer.day()
    batch = issuer.numbering.batch("spe-grk")
    project = issuer.project("srn-ppi")
    issuer.add(issuer.spe_grk(project, issuer.vintage(day), batch, 1, issuer.quantity(), day))


def _spoil(issuer: Issuer, index: int) -> None:
    kind = _MALFORMED[index % len(_MALFORMED)]
    day = issuer.day()
    if kind.registry == "srn-ppi":
        project = issuer.project("srn-ppi")
        batch = issuer.numbering.batch("spe-grk")
        block = issuer.spe_grk(project, issuer.vintage(day), batch, 1, 100, day)
    elif kind.registry == "tccr":
        batch = issuer.numbering.batch("tver")
        block = issuer.tver(issuer.project("tccr"), issuer.vintage(day), batch, 1, 100, day)
    elif kind.registry.startswith("jcm-"):
        partner = "ID"
        issuance = issuer.numbering.batch(f"jcm-{partner}")
        project = issuer.project("jcm-id")
        block = issuer.jcm(kind.registry, project, issuer.vintage(day), issuance, 1, 100, day, 100)
    else:
        batch = issuer.numbering.batch("acr", 3000)
        project = issuer.project("acr")
        block = issuer.us_registry("acr", project, issuer.vintage(day), batch, 1, 100, day)
    issuer.writer.add_malformed(block, kind.field, kind.value, kind.reason)


def _bangkok_e_bus(issuer: Issuer) -> None:
    """The real precedent (DOMAIN.md): the first Article 6.2 transfer, Bangkok e-bus to
    Switzerland, 1,916 t, 2023. Ids, batch and exact dates are invented."""
    project = Project(
        "tccr",
        "TVER-P-0001",
        1,
        "Bangkok E-Bus Programme",
        "TH",
        "Bangkok",
        "premium",
        "T-VER-METH-TM-01",
    )
    issued = dt.date(2023, 8, 15).toordinal()
    batch = issuer.numbering.batch("tver")
    block: Block = issuer.tver(project, 2022, batch, 1, 1916, issued)
    block.a6 = Article6(
        loa="TGO-LoA-2023-0001",
        loa_on=dt.date(2023, 6, 1).toordinal(),
        purpose="ndc",
        ca="applied",
        itmo="ITMO-TH-CH-2023-0001",
        first_transfer_on=dt.date(2023, 12, 1).toordinal(),
        acquiring_party="CH",
    )
    block.status, block.status_on = "transferred", block.a6.first_transfer_on
    block.reason = "First transfer of ITMOs to Switzerland (Article 6.2)"
    issuer.add(block)
