"""metaregistry.api: the public, read-only lookup API (aiohttp), its web page and limits.

Start here: :func:`metaregistry.api.app.create_app` builds the application;
``metaregistry serve`` and ``metaregistry lookup`` live in ``cli.py``.

    app.py              the application: routes, mounted feed and log routes
    gate.py             the one middleware: metrics, CORS preflight, limits, error answers
    routes.py           /v1/serials, /v1/blocks, /v1/projects, /v1/registries, health, metrics
    lookup.py           the answer to "where do these units live?" (API and CLI alike)
    answers.py          encoded answers, cached until the database changes
    unit_query.py       reading a serial (any registry's, or scheme:scope:start-end)
    queries.py          raw SQL on the index; reader.py runs it read-only under a deadline
    proofs.py, alerts.py   inclusion proofs from the log; alerts and links from detection
    registries.py       per-registry counts and sync freshness (cached)
    limits.py, metrics.py  rate limit, request caps, CORS; Prometheus text
    openapi*.py         the OpenAPI 3.1 document, as data
    page.py, static/    the web page (no build step)
    keys.py, state.py   typed app-state keys (shared with other areas / private)
"""
