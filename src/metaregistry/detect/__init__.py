"""Cross-registry detection: range overlaps, classification, alerts and their lifecycle.

How it works, one module each:

* :mod:`~metaregistry.detect.scan` reads the index for a full run (``detect --full``): one
  sweep;
* an incremental run starts from :mod:`~metaregistry.detect.changes` (the records changed
  since a version id, where they lie and lay) and reads the blocks connected to them with
  :mod:`~metaregistry.detect.closure` (batched range probes), both over
  :mod:`~metaregistry.detect.driver` (plain tuples on the driver's cursor);
* :mod:`~metaregistry.detect.cluster` cuts a cluster of overlapping blocks into segments and
  pairs the most final record of each registry on them (DOMAIN.md's numbering rules);
* :mod:`~metaregistry.detect.rules` is the classification table (status pair, reasons, origin
  links, Article 6 state -> link kind, or alert kind and severity, and an explanation);
* :mod:`~metaregistry.detect.findings` turns pairs into alerts (grouped, stable ids) and links;
* :mod:`~metaregistry.detect.lifecycle` stores them: open, acknowledged, resolved, each change
  an event (:mod:`~metaregistry.detect.events`, hashed and appended to the log);
* :mod:`~metaregistry.detect.engine` runs it all; :mod:`~metaregistry.detect.cli` is the
  command line.

Public API (for the sync engine, the feed and the API):

* ``engine.detect_full(engine_or_conn, progress=None) -> DetectSummary`` and
  ``engine.detect_incremental(conn, since_version_id) -> DetectSummary``: both in the
  caller's transaction (``detect_full`` opens one when given an engine); ``engine.last_run``.
* ``lifecycle.acknowledge(conn, alert_id)`` / ``lifecycle.resolve(conn, alert_id)``: changes
  by hand, each one event; raise ``AlertNotFoundError`` / ``AlertStateError``.
* ``alerts.list_alerts(conn, AlertQuery(...))``, ``alerts.get_alert``, ``alerts.list_links``:
  alerts as JSON documents (``events.alert_document``).
* ``events.event_document(row)``: the hashed document of an ``alert_event`` row, so a reader
  can check ``event_hash`` and the log leaf (``{"type": "alert_event", "event_id": str(id),
  "event_hash": ...}``).

Tables (``tables``; migration ``0003_detect``): ``alert`` (current state; ``sides`` and
``detail`` are JSON text), ``alert_side`` (alert id by record), ``alert_event`` (append-only;
``id`` is the feed cursor, ``detail`` the alert as it was after the change), ``block_link``,
``detect_run``. Column meanings are in the docstring of :mod:`metaregistry.detect.tables`.
"""
