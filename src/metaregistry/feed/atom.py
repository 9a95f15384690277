"""The alert events as an Atom 1.0 feed (RFC 4287), newest first, for feed readers.

One entry per event: ``id`` is stable (``<feed id>:event:<event id>``), ``title`` says what
happened to which kind of alert, ``summary`` is the alert's plain-language explanation as of
that event, ``link`` points at ``/v1/alerts/{id}``, and the alert's kind and severity are
categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from metaregistry.feed.events import AlertEvent, iso

__all__ = ["CONTENT_TYPE", "render_feed"]

CONTENT_TYPE = "application/atom+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:metaregistry:alerts"


def _child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _title(event: AlertEvent) -> str:
    kind = event.alert.kind.replace("_", " ")
    registries = " / ".join(sorted(event.alert.registries))
    return f"{kind.capitalize()} {event.type}: {registries or event.alert_id}"


def _summary(event: AlertEvent) -> str:
    explanation = event.alert.data.get("explanation")
    status = event.alert.status
    text = str(explanation) if explanation else f"Alert {event.alert_id}."
    return f"{text} (now {status}, severity {event.alert.severity})"


def render_feed(
    events: Sequence[AlertEvent],
    *,
    self_url: str,
    alerts_url: str,
    updated: datetime,
    title: str = "metaregistry alerts",
) -> bytes:
    """The feed document. ``events`` newest first; ``alerts_url`` is the absolute URL of
    ``/v1/alerts`` (entry links append the alert id); ``updated`` is used when there are no
    events."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _child(feed, "id", FEED_ID)
    _child(feed, "title", title)
    _child(feed, "updated", iso(events[0].at if events else updated))
    _child(feed, "link", rel="self", href=self_url, type=CONTENT_TYPE)
    _child(feed, "link", rel="alternate", href=alerts_url, type="application/json")
    author = _child(feed, "author")
    _child(author, "name", "metaregistry")
    _child(feed, "generator", "metaregistry")
    for event in events:
        entry = _child(feed, "entry")
        _child(entry, "id", f"{FEED_ID}:event:{event.id}")
        _child(entry, "title", _title(event))
        _child(entry, "updated", iso(event.at))
        _child(entry, "published", iso(event.at))
        _child(
            entry,
            "link",
            rel="alternate",
            href=f"{alerts_url}/{quote(event.alert_id, safe='')}",
            type="application/json",
        )
        _child(entry, "summary", _summary(event), type="text")
        _child(entry, "category", term=event.alert.kind, label="kind")
        _child(entry, "category", term=event.alert.severity, label="severity")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
