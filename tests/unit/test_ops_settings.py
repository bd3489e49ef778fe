import pytest

from kv_api.infrastructure.settings import SettingsError
from kv_api.infrastructure.settings_loader import load_settings


def test_operations_settings_default_to_a_public_scrape_and_a_warning_at_85_percent() -> None:
    settings = load_settings({})
    assert settings.metrics_token is None
    assert settings.store_warn_percent == 85


def test_a_short_scrape_token_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError, match="KV_METRICS_TOKEN=<hidden>") as caught:
        load_settings({"KV_METRICS_TOKEN": "short-one"})
    assert "short-one" not in str(caught.value)


def test_operations_settings_are_read() -> None:
    token = "s" * 20
    settings = load_settings({"KV_METRICS_TOKEN": token, "KV_STORE_WARN_PERCENT": "70"})
    assert (settings.metrics_token, settings.store_warn_percent) == (token, 70)
