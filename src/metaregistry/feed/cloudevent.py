"""Alert events as CloudEvents 1.0 in structured mode (one JSON document, content type
``application/cloudevents+json``), the body of every webhook delivery.

``id`` is the alert event's id (the feed cursor; deduplicate on it), ``type`` is
``org.metaregistry.alert.<event type>`` (e.g. ``org.metaregistry.alert.opened``),
``subject`` the alert's id, ``time`` when the event happened, ``data`` the same JSON object
``GET /v1/alerts/events`` returns for the event.
"""

from __future__ import annotations

import json
from typing import Any

from metaregistry.feed.events import AlertEvent, iso

__all__ = ["CONTENT_TYPE", "TYPE_PREFIX", "body", "cloud_event"]

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
TYPE_PREFIX = "org.metaregistry.alert."


def cloud_event(event: AlertEvent, *, source: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(event.id),
        "source": source,
        "type": TYPE_PREFIX + event.type,
        "subject": event.alert_id,
        "time": iso(event.at),
        "datacontenttype": "application/json",
        "data": event.to_json(),
    }


def body(event: AlertEvent, *, source: str) -> bytes:
    """The exact bytes sent (and signed)."""
    document = cloud_event(event, source=source)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
