"""A TCCR export cut off inside its last row is retried, not stored as a short row."""

from __future__ import annotations

import httpx
import pytest

from metaregistry.connector import ConnectorConfig, RetriableSourceError
from metaregistry_connectors.tccr import connector


def _response(body: str, count: int) -> tuple[httpx.Response, object]:
    stream = connector.streams(ConnectorConfig("tccr", base_url="http://tccr.test", token="t"))[0]
    request = stream.first_request(None)
    assert request is not None
    response = httpx.Response(
        200,
        text=body,
        headers={"X-Record-Count": str(count), "ETag": '"v1"', "Content-Type": "text/csv"},
        request=httpx.Request(request.method, request.url),
    )
    return response, (stream, request)


def test_body_cut_inside_the_last_row_is_retriable() -> None:
    header = "serial_no,quantity\r\n"
    whole = header + "TVER-P-1-2566-1-1-5,5\r\n"
    cut = whole[:-6]  # inside the last row: still one row by count
    response, (stream, request) = _response(cut, 1)  # type: ignore[misc]
    with pytest.raises(RetriableSourceError, match="cut off"):
        stream.parse_page(response, request)  # type: ignore[attr-defined]
