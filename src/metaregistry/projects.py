"""Project ids in one normalized form per registry (issue 16).

Registries write their project ids in several ways (``ACR1051``, ``ACR 1051``, ``1051``;
``CAR992``, ``CAR 992``; ``ART130``; ``VCS934``, ``934``; ``GS8261``, ``GS 8261``). The index
keeps one form per registry: the registry's prefix followed by the number, without spaces or
leading zeros, so project-level reconciliation can compare ids across records and sources.
"""

from __future__ import annotations

import re

# Registry slug -> the prefix of its normalized project id.
PREFIXES: dict[str, str] = {
    "acr": "ACR",
    "car": "CAR",
    "art-trees": "ART",
    "verra": "VCS",
    "vcs": "VCS",
    "gold-standard": "GS",
    "gs": "GS",
}

_ID = re.compile(r"^\s*([A-Za-z]*)[\s\-_#]*0*(\d+)\s*$")


def normalize_project_id(registry: str, raw: str | int | None) -> str | None:
    """``raw`` as ``<PREFIX><number>`` for ``registry``; None when ``raw`` is empty.

    Raises ValueError for a registry without a known prefix, for text that is not a project
    number, and for a prefix naming another registry (``CAR12`` given as an ACR project).
    """
    prefix = PREFIXES.get(registry.lower())
    if prefix is None:
        raise ValueError(f"no project id form known for registry {registry!r}")
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    match = _ID.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a {prefix} project id")
    stated, number = match.group(1).upper(), match.group(2)
    if stated and stated != prefix:
        raise ValueError(f"{text!r} names a {stated} project, not a {prefix} one")
    return f"{prefix}{int(number)}"
