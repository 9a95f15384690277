import pytest

from metaregistry.projects import normalize_project_id


@pytest.mark.parametrize(
    ("registry", "raw", "expected"),
    [
        ("acr", "ACR1051", "ACR1051"),
        ("acr", "acr 1051", "ACR1051"),
        ("acr", "1051", "ACR1051"),
        ("car", "CAR992", "CAR992"),
        ("car", "CAR0992", "CAR992"),
        ("art-trees", "ART130", "ART130"),
        ("art-trees", 130, "ART130"),
        ("verra", "934", "VCS934"),
        ("verra", "VCS-934", "VCS934"),
        ("gold-standard", "GS 8261", "GS8261"),
        ("gold-standard", "", None),
        ("acr", None, None),
    ],
)
def test_normalized_form(registry: str, raw: str | int | None, expected: str | None) -> None:
    assert normalize_project_id(registry, raw) == expected


@pytest.mark.parametrize(
    ("registry", "raw"),
    [("acr", "CAR12"), ("car", "abc"), ("verra", "VCS 12 3"), ("unknown", "12")],
)
def test_refused(registry: str, raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_project_id(registry, raw)
