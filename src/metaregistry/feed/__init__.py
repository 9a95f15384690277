"""The duplicate-use alert feed: alerts and their events over HTTP, and webhooks.

    routes      add_routes(app): /v1/alerts, /events (pull), /stream (SSE), /feed.atom, /{id}
    events      reading alerts and events (detection's tables, via alert_tables)
    horizon     which events are settled, so the event-id cursor never skips one
    sse, atom   the two push/poll formats
    webhooks    WebhookDeliverer / deliver_pending: signed CloudEvents, retries, leases
    outbox      the webhook_outbox table's fill / claim / record (blocking database code)
    signature   the X-Metaregistry-Signature scheme (sign, verify)
    cloudevent  the CloudEvents 1.0 body of a delivery
    testing     a webhook receiver and an alert writer for tests and demos

Nothing is imported here, so that the daemon can load the webhooks without aiohttp routes.
"""
