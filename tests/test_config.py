"""Configuration from PRESSMON_* variables: defaults that work on a laptop, clear errors for bad values."""

from __future__ import annotations

import pytest

from pressmon.config import Config
from pressmon.errors import ConfigError


def test_an_empty_environment_gives_the_laptop_defaults():
    config = Config.from_env({})
    assert config.database_url is None and config.smtp_url is None
    assert config.scheme == "qingdao-10plus1-2025"
    assert "pressmon" in config.user_agent


def test_values_and_per_source_base_urls_are_read():
    config = Config.from_env(
        {
            "PRESSMON_BATCH_SIZE": "7",
            "PRESSMON_CRAWL_DELAY": "0.5",
            "PRESSMON_BASE_URL_QD_PRESS": "http://127.0.0.1:9/",
        }
    )
    assert (config.batch_size, config.crawl_delay) == (7, 0.5)
    assert config.base_urls == {"qd_press": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PRESSMON_BATCH_SIZE": "many"}, "PRESSMON_BATCH_SIZE must be a whole number, got 'many'"),
        ({"PRESSMON_CRAWL_DELAY": "soon"}, "PRESSMON_CRAWL_DELAY must be a number, got 'soon'"),
        ({"PRESSMON_CRAWL_OVERLAP": "-1"}, "PRESSMON_CRAWL_OVERLAP must not be negative"),
    ],
)
def test_a_malformed_value_names_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)
