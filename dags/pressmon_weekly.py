"""
### pressmon weekly

Every Monday at 07:00 Beijing time: draw the weekly report of the week that just ended (chains over 12 weeks,
this week against their average, publishers, the week's releases with their evidence, source health) from the
`reporting` views as the read-only role, and mail it to every weekly subscription (`pressmon subscribe add …
--weekly`), exactly once per subscription and week (ledger `report_deliveries`, the digests' rules).

A DAG of its own because an Airflow DAG has one schedule: the nightly run starts at 02:00 every day.
All logic lives in `pressmon.steps`; configuration comes from `PRESSMON_*` environment variables.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

RETRIES = int(os.environ.get("PRESSMON_TASK_RETRIES", "2"))


@dag(
    dag_id="pressmon_weekly",
    schedule=CronTriggerTimetable("0 7 * * 1", timezone="Asia/Shanghai"),
    # Early, so that a past week's report can be run again (catchup stays off: nothing is back-filled).
    start_date=datetime(2020, 1, 6),
    catchup=False,
    max_active_runs=1,
    tags=["pressmon", "reports"],
    doc_md=__doc__,
    default_args={"owner": "pressmon", "retries": RETRIES, "retry_delay": timedelta(minutes=10)},
)
def pressmon_weekly():
    @task
    def weekly_report() -> dict:
        from pressmon import steps
        from pressmon.airflow_run import with_airflow_smtp
        from pressmon.config import Config
        from pressmon.weekly import Week

        context = get_current_context()
        moment = context.get("logical_date") or context["dag_run"].run_after
        config = with_airflow_smtp(Config.from_env())
        return steps.weekly_mailing(config, Week.last_complete(moment), progress=print)

    weekly_report()


pressmon_weekly()
