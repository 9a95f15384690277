"""One project key for every registry's id of one project.

Links come from two places only: what a record states (CARB's "OPR Project ID", a second OPR
id in its Comment, the VCS project of a bridged token) and the operator's mapping file
(``[reconcile] project_map``: two project ids per line and a note). Similar names may
*suggest* a pair (:func:`suggest`), shown for review and never used until confirmed in the
mapping file.

A project key is the smallest project reference of its group (``acr:ACR1051``), so it is
stable however the links were found.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from metaregistry.projects import PREFIXES, normalize_project_id
from metaregistry.reconcile.model import Holding, ProjectRef

__all__ = [
    "Crosswalk",
    "MapError",
    "ProjectLink",
    "Suggestion",
    "build",
    "key_text",
    "parse_project",
    "read_map",
    "suggest",
]


def key_text(ref: ProjectRef) -> str:
    return f"{ref[0]}:{ref[1]}"


@dataclass(frozen=True, slots=True)
class ProjectLink:
    """Two registries' ids of one project and where the link came from: ``record`` (the
    record ``registry/record_id`` states it in ``field``) or ``map`` (line ``line`` of the
    mapping file, with the operator's note)."""

    a: ProjectRef
    b: ProjectRef
    source: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {
            "a": key_text(self.a),
            "b": key_text(self.b),
            "source": self.source,
            "detail": self.detail,
        }


class MapError(ValueError):
    """A line of the mapping file that cannot be read (names the file and line)."""


#: The registry a known project-id prefix names.
_REGISTRY_OF_PREFIX = {
    "ACR": "acr",
    "CAR": "car",
    "ART": "art-trees",
    "VCS": "verra",
    "GS": "gold-standard",
}
_PREFIXED = re.compile(r"^\s*([A-Za-z]+)[\s\-_#]*(\d+)\s*$")


def parse_project(text: str) -> ProjectRef:
    """``ACR1051``, ``acr:1051``, ``verra:VCS934`` or ``srn-ppi:PRJ-17`` as a project reference.

    An id with a known registry prefix (ACR, CAR, ART, VCS, GS) needs no registry; any other
    id is written ``registry:id``."""
    text = text.strip()
    if ":" in text:
        registry, _, raw = text.partition(":")
        registry = registry.strip().lower()
        raw = raw.strip()
        if not registry or not raw:
            raise ValueError(f"{text!r} is not registry:project_id")
        if registry in PREFIXES:
            normalized = normalize_project_id(registry, raw)
            assert normalized is not None
            return (_canonical_registry(registry), normalized)
        return (registry, raw)
    match = _PREFIXED.match(text)
    if match is None or match.group(1).upper() not in _REGISTRY_OF_PREFIX:
        raise ValueError(
            f"{text!r}: write registry:project_id for an id without a known prefix "
            "(ACR, CAR, ART, VCS, GS)"
        )
    registry = _REGISTRY_OF_PREFIX[match.group(1).upper()]
    normalized = normalize_project_id(registry, text)
    assert normalized is not None
    return (registry, normalized)


def _canonical_registry(slug: str) -> str:
    return {"vcs": "verra", "gs": "gold-standard"}.get(slug, slug)


def read_map(path: Path) -> list[ProjectLink]:
    """The operator's mapping file: CSV, two project ids and an optional note per line; blank
    lines and lines starting with ``#`` are skipped; a header line whose first cell is not a
    project id (``project_a,project_b,note``) is skipped too."""
    links: list[ProjectLink] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            cells = [c.strip() for c in row]
            if not cells or not any(cells) or cells[0].startswith("#"):
                continue
            if len(cells) < 2 or not cells[1]:
                raise MapError(f"{path}:{number}: needs two project ids, got {row!r}")
            try:
                a, b = parse_project(cells[0]), parse_project(cells[1])
            except ValueError as exc:
                if number == 1 and not _parses(cells[0]) and not _parses(cells[1]):
                    continue  # a header line
                raise MapError(f"{path}:{number}: {exc}") from None
            note = ",".join(cells[2:]).strip()
            links.append(
                ProjectLink(a, b, "map", f"{path.name}:{number}" + (f" {note}" if note else ""))
            )
    return links


def _parses(text: str) -> bool:
    try:
        parse_project(text)
    except ValueError:
        return False
    return True


class Crosswalk:
    """Project references joined into groups (union-find), each link kept with its source."""

    def __init__(self) -> None:
        self._parent: dict[ProjectRef, ProjectRef] = {}
        self.links: list[ProjectLink] = []

    def __contains__(self, ref: object) -> bool:
        return ref in self._parent

    def add(self, ref: ProjectRef) -> None:
        self._parent.setdefault(ref, ref)

    def link(self, link: ProjectLink) -> None:
        self.add(link.a)
        self.add(link.b)
        self.links.append(link)
        ra, rb = self._root(link.a), self._root(link.b)
        if ra != rb:
            low, high = sorted((ra, rb))
            self._parent[high] = low

    def _root(self, ref: ProjectRef) -> ProjectRef:
        parent = self._parent.setdefault(ref, ref)
        while parent != ref:
            grand = self._parent[parent]
            self._parent[ref] = grand
            ref, parent = parent, grand
        return ref

    def key(self, ref: ProjectRef) -> str:
        """The project key of ``ref``: the smallest reference of its group, as text."""
        return key_text(self._root(ref))

    def members(self, key: str) -> list[ProjectRef]:
        return sorted(r for r in self._parent if self.key(r) == key)

    def groups(self) -> dict[str, list[ProjectRef]]:
        out: dict[str, list[ProjectRef]] = {}
        for ref in self._parent:
            out.setdefault(self.key(ref), []).append(ref)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def links_of(self, key: str) -> list[ProjectLink]:
        return [link for link in self.links if self.key(link.a) == key]


def build(holdings: Iterable[Holding], mapped: Sequence[ProjectLink] = ()) -> Crosswalk:
    """The crosswalk of the records' own statements and the operator's mapping."""
    walk = Crosswalk()
    seen: set[tuple[ProjectRef, ProjectRef, str]] = set()
    for holding in holdings:
        if holding.project is None:
            continue
        walk.add(holding.project)
        for named, field in holding.names:
            if named == holding.project:
                continue
            marker = (holding.project, named, field)
            if marker in seen:
                continue
            seen.add(marker)
            walk.link(
                ProjectLink(
                    holding.project,
                    named,
                    "record",
                    f"{holding.registry}/{holding.record_id} {field}",
                )
            )
    for link in mapped:
        walk.link(link)
    return walk


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Two projects whose names look alike: for review only, never used for an alert."""

    a: ProjectRef
    b: ProjectRef
    score: float
    why: str

    def to_json(self) -> dict[str, object]:
        return {
            "a": key_text(self.a),
            "b": key_text(self.b),
            "score": round(self.score, 3),
            "why": self.why,
        }


_WORDS = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"project", "the", "of", "and", "carbon", "redd", "ltd", "inc", "llc", "co"})


def _words(name: str) -> str:
    return " ".join(w for w in _WORDS.findall(name.lower()) if w not in _STOP)


def suggest(
    names: Mapping[ProjectRef, tuple[str, str | None]],
    crosswalk: Crosswalk,
    *,
    threshold: float = 0.85,
) -> list[Suggestion]:
    """Pairs of projects in different registries, not already one key, whose names are
    similar (``names``: project -> (name, country)); a country that differs rules a pair out."""
    items = sorted((ref, _words(n), c) for ref, (n, c) in names.items() if _words(n))
    out: list[Suggestion] = []
    for i, (ref_a, words_a, country_a) in enumerate(items):
        for ref_b, words_b, country_b in items[i + 1 :]:
            if ref_a[0] == ref_b[0] or crosswalk.key(ref_a) == crosswalk.key(ref_b):
                continue
            if country_a and country_b and country_a != country_b:
                continue
            score = SequenceMatcher(None, words_a, words_b).ratio()
            if score >= threshold:
                out.append(Suggestion(ref_a, ref_b, score, f"names {words_a!r} ~ {words_b!r}"))
    return sorted(out, key=lambda s: (-s.score, s.a, s.b))
