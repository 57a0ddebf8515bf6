"""
### pressmon nightly

Every night at 02:00 Beijing time: crawl each enabled source (one mapped task per source, each in its own
Scrapy process, so one broken site fails only its own task), then parse, deduplicate and tag what was fetched
(`PRESSMON_PROCESS_TASKS` mapped tasks that share the pages batch by batch, on as many Celery workers),
judge each source's health (ok, no_new_items, stale, parse_errors, encoding_error, empty_list, blocked; the
operator is mailed each change once), send alert digests, and write the run's summary to `crawl_runs`.
Processing, health, alerts and the report run even when a crawl failed; the `watcher` task then fails, so the
run itself ends `failed` where operators look.

All logic lives in `pressmon.steps`; configuration comes from `PRESSMON_*` environment variables, read by
`pressmon.config.Config` (task retries, failure email and SMTP connection included). The DAG never migrates:
`pressmon db migrate` is a deployment step (compose's airflow-init runs it), and a task started against a
database behind this pressmon's migrations fails with one line saying so.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from pressmon.config import Config

TIMEZONE = "Asia/Shanghai"
# Read when the file is parsed: retries and the failure notifier are part of the DAG's definition.
CONFIG = Config.from_env()


def _config() -> Config:
    return Config.from_env()


def _failure_callbacks() -> list:
    if not CONFIG.failure_email:
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [
        SmtpNotifier(
            to=CONFIG.failure_email,
            smtp_conn_id=CONFIG.smtp_conn_id,
            subject="pressmon: task {{ ti.task_id }} failed in {{ dag_run.run_id }}",
        )
    ]


@dag(
    dag_id="pressmon_nightly",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    tags=["pressmon", "crawl", "alerts"],
    doc_md=__doc__,
    default_args={
        "owner": "pressmon",
        "retries": CONFIG.task_retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "on_failure_callback": _failure_callbacks(),
    },
)
def pressmon_nightly():
    @task
    def start_run() -> int:
        from pressmon import steps

        return steps.start_run(_config(), get_current_context()["run_id"])

    @task
    def enabled_sources() -> list[str]:
        from pressmon import steps

        return steps.enabled_sources(_config())

    @task(execution_timeout=timedelta(hours=2))
    def crawl(source: str, crawl_run_id: int) -> dict:
        from pressmon import steps

        return steps.crawl(_config(), source, crawl_run_id, progress=print)

    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(hours=2))
    def process(share: int) -> dict:
        """One of `PRESSMON_PROCESS_TASKS` tasks that claim batches of the pending pages until none is left."""
        from pressmon import steps

        return steps.process(_config(), progress=print)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def judge_health(crawl_run_id: int) -> dict:
        from pressmon import steps
        from pressmon.airflow_run import with_airflow_smtp

        return steps.judge_health(with_airflow_smtp(_config()), crawl_run_id, progress=print)

    @task
    def alert() -> dict:
        from pressmon import steps
        from pressmon.airflow_run import with_airflow_smtp

        return steps.alert(with_airflow_smtp(_config()), progress=print)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(crawl_run_id: int) -> dict:
        from pressmon import steps

        return steps.report(_config(), crawl_run_id)

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def watcher() -> None:
        """Fail the run when any task failed: `report` runs whatever happened, so it cannot say so itself."""
        raise RuntimeError("a task of this run failed; see the failed tasks and the run's summary")

    crawl_run_id = start_run()
    sources = enabled_sources()
    crawled = crawl.partial(crawl_run_id=crawl_run_id).expand(source=sources)
    processed = process.expand(share=list(range(CONFIG.process_tasks)))
    # Beside alert, not before it: a failed judgement must not hold up the digests.
    judged = judge_health(crawl_run_id)
    alerted = alert()
    reported = report(crawl_run_id)
    crawled >> processed >> [judged, alerted]
    [judged, alerted] >> reported
    [crawl_run_id, sources, crawled, processed, judged, alerted, reported] >> watcher()


pressmon_nightly()
