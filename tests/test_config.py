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


def test_the_dags_settings_and_log_levels_are_read_with_the_rest():
    config = Config.from_env(
        {
            "PRESSMON_TASK_RETRIES": "0",
            "PRESSMON_FAILURE_EMAIL": "Ops@Example.ORG",
            "PRESSMON_SMTP_CONN_ID": "relay",
            "PRESSMON_LOG_LEVEL": "info",
            "PRESSMON_CRAWL_LOG_LEVEL": "debug",
        }
    )
    assert (config.task_retries, config.failure_email, config.smtp_conn_id) == (0, "Ops@example.org", "relay")
    assert (config.log_level, config.crawl_log_level) == ("INFO", "DEBUG")
    defaults = Config.from_env({})
    assert defaults.failure_email is None and defaults.smtp_conn_id == Config().smtp_conn_id


def test_read_leniently_every_bad_value_is_a_problem_and_the_urls_are_kept_as_given():
    env = {
        "PRESSMON_BATCH_SIZE": "0",
        "PRESSMON_SCHEME": "nope",
        "PRESSMON_SMTP_URL": "smtp://host:notaport",
        "PRESSMON_CRAWL_DELAY": "0.5",
    }
    config, problems = Config.from_env_leniently(env)
    assert sorted(p.variable for p in problems) == [
        "PRESSMON_BATCH_SIZE",
        "PRESSMON_SCHEME",
        "PRESSMON_SMTP_URL",
    ]
    assert config.batch_size == Config().batch_size and config.scheme == Config().scheme
    assert config.smtp_url == "smtp://host:notaport" and config.crawl_delay == 0.5
    with pytest.raises(ConfigError):
        Config.from_env(env)
