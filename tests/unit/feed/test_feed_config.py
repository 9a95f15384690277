from __future__ import annotations

from typing import Any

import pytest

from metaregistry.settings import ConfigError, Settings, settings_from


def config(webhooks: list[Any], **feed: Any) -> Settings:
    return settings_from({"webhooks": webhooks, "feed": feed})


def test_a_webhook_table_is_read_with_its_filters() -> None:
    parsed = config(
        [
            {
                "url": "https://x.test/h",
                "secret": "s",
                "registry": "verra",
                "kind": ["double_use", "double_issuance"],
            }
        ],
        retry_cap=60,
    )
    (hook,) = parsed.webhooks
    assert hook.registry == {"verra"}
    assert hook.kind == {"double_use", "double_issuance"}
    assert hook.start == "latest"
    assert parsed.feed.retry_cap == 60.0
    assert parsed.feed.lease == 120.0


@pytest.mark.parametrize(
    ("webhooks", "feed", "message"),
    [
        ([{"secret": "s"}], {}, r"webhooks\.0\.url: Field required"),
        ([{"url": "ftp://x", "secret": "s"}], {}, r"webhooks\.0\.url: .*http.* 'ftp://x'"),
        ([{"url": "https://x.test"}], {}, r"webhooks\.0\.secret: Field required"),
        ([{"url": "https://x.test", "secret": "s", "kind": 3}], {}, r"webhooks\.0\.kind"),
        ([{"url": "https://x.test", "secret": "s", "colour": "red"}], {}, r"\.colour: is not"),
        ([{"url": "https://x.test", "secret": "s", "start": "now"}], {}, r"start: .* 'now'"),
        ([{"url": "https://x.test", "secret": "s"}] * 2, {}, "configured twice"),
        ([], {"retry_base": -1}, r"feed.retry_base: Input should be greater than 0 \(value: -1\)"),
        ([], {"batch": 2.5}, r"feed.batch: Input should be a valid integer.* \(value: 2.5\)"),
        (
            [{"url": "https://x.test", "secret": "s", "timeout": 30}],
            {"lease": 20},
            r"feed.lease \(20 s\) must exceed the longest webhook timeout \(30 s\)",
        ),
    ],
)
def test_bad_settings_name_the_field_and_value(
    webhooks: list[Any], feed: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config(webhooks, **feed)
