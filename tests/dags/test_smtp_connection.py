"""Alerts can reach SMTP through an Airflow connection instead of PRESSMON_SMTP_URL."""

from __future__ import annotations

import json

from pressmon.airflow_run import smtp_url_from_connection, with_airflow_smtp
from pressmon.config import Config
from pressmon.mail import SmtpTarget

# The connection alerts fall back to: the same one as the DAG's failure notifier.
DEFAULT_CONN = f"AIRFLOW_CONN_{Config().smtp_conn_id.upper()}"


def test_an_airflow_smtp_connection_becomes_the_smtp_target(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALERTS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "mail.example.org",
                "port": 587,
                "login": "alerts",
                "password": "s3cret pass",
                "extra": {"disable_ssl": True, "disable_tls": False},
            }
        ),
    )
    target = SmtpTarget.from_url(smtp_url_from_connection("alerts_smtp"))
    assert target == SmtpTarget("mail.example.org", 587, "alerts", "s3cret pass", "starttls")


def test_pressmon_smtp_url_wins_over_the_connection(monkeypatch):
    monkeypatch.setenv(DEFAULT_CONN, json.dumps({"conn_type": "smtp", "host": "other.example.org"}))
    config = Config(smtp_url="smtp://127.0.0.1:2525")
    assert with_airflow_smtp(config).smtp_url == "smtp://127.0.0.1:2525"
    assert SmtpTarget.from_url(with_airflow_smtp(Config()).smtp_url).host == "other.example.org"


def test_no_connection_means_no_smtp():
    assert with_airflow_smtp(Config()).smtp_url is None


def test_alerts_and_the_failure_notifier_share_one_connection_id(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALERTS_SMTP", json.dumps({"conn_type": "smtp", "host": "alerts.example.org"})
    )
    config = Config.from_env(
        {"PRESSMON_SMTP_CONN_ID": "alerts_smtp", "PRESSMON_FAILURE_EMAIL": "ops@example.org"}
    )
    assert SmtpTarget.from_url(with_airflow_smtp(config).smtp_url).host == "alerts.example.org"
    monkeypatch.setenv("PRESSMON_SMTP_CONN_ID", "alerts_smtp")
    monkeypatch.setenv("PRESSMON_FAILURE_EMAIL", "ops@example.org")
    from airflow.dag_processing.dagbag import DagBag

    from pressmon.airflow_run import DAGS_FOLDER

    dag = DagBag(dag_folder=str(DAGS_FOLDER)).dags["pressmon_nightly"]
    (notifier,) = dag.default_args["on_failure_callback"]
    assert notifier.smtp_conn_id == "alerts_smtp"
    assert notifier.to == "ops@example.org"
