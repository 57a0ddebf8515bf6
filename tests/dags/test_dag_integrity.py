"""The DAG folder imports cleanly and the nightly DAG is scheduled and wired as intended."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pressmon.airflow_run import DAGS_FOLDER


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_dag_folder_has_no_import_errors(bag):
    assert bag.import_errors == {}
    assert {"pressmon_nightly", "pressmon_weekly"} <= set(bag.dags)


def test_every_dag_has_tags_retries_and_a_description(bag):
    for dag_id, dag in bag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.retries is not None, f"{dag_id}.{task.task_id}"


def test_nightly_runs_at_two_beijing_time_one_run_at_a_time_without_catchup(bag):
    dag = bag.dags["pressmon_nightly"]
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone) == "Asia/Shanghai"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.default_args["retry_delay"] == timedelta(minutes=5)


def test_crawl_is_mapped_per_source_and_processing_runs_even_if_a_source_failed(bag):
    dag = bag.dags["pressmon_nightly"]
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {
        "start_run",
        "enabled_sources",
        "crawl",
        "process",
        "judge_health",
        "alert",
        "report",
        "watcher",
    }
    assert type(tasks["crawl"]).__name__.endswith("MappedOperator")
    assert type(tasks["process"]).__name__.endswith("MappedOperator")
    assert tasks["process"].trigger_rule == "all_done"
    assert tasks["report"].trigger_rule == "all_done"
    assert tasks["crawl"].task_id in {t.task_id for t in tasks["process"].upstream_list}
    assert "alert" in {t.task_id for t in tasks["report"].upstream_list}


def test_health_is_judged_after_processing_whatever_happened_and_beside_the_alerts(bag):
    tasks = {t.task_id: t for t in bag.dags["pressmon_nightly"].tasks}
    judge = tasks["judge_health"]
    assert judge.trigger_rule == "all_done"
    assert "process" in {t.task_id for t in judge.upstream_list}
    assert "alert" not in {t.task_id for t in judge.upstream_list}
    assert "judge_health" not in {t.task_id for t in tasks["alert"].upstream_list}
    assert "judge_health" in {t.task_id for t in tasks["report"].upstream_list}


def test_a_watcher_leaf_fails_the_run_when_any_task_failed(bag):
    dag = bag.dags["pressmon_nightly"]
    tasks = {t.task_id: t for t in dag.tasks}
    watcher = tasks["watcher"]
    assert watcher.trigger_rule == "one_failed"
    assert watcher.downstream_list == []
    assert {t.task_id for t in watcher.upstream_list} == set(tasks) - {"watcher"}


def test_weekly_report_goes_out_on_monday_at_seven_beijing_time(bag):
    dag = bag.dags["pressmon_weekly"]
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    assert dag.timetable.expression == "0 7 * * 1"
    assert str(dag.timetable.timezone) == "Asia/Shanghai"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert [t.task_id for t in dag.tasks] == ["weekly_report"]


def test_start_date_is_timezone_aware_midnight_in_beijing(bag):
    from zoneinfo import ZoneInfo

    start = bag.dags["pressmon_nightly"].start_date
    assert start.tzinfo is not None and start.utcoffset() is not None
    assert start.astimezone(ZoneInfo("Asia/Shanghai")).hour == 0


def test_retries_come_from_the_configuration(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PRESSMON_TASK_RETRIES", "4")
    dag = DagBag(dag_folder=str(DAGS_FOLDER)).dags["pressmon_nightly"]
    assert {task.retries for task in dag.tasks if task.task_id != "watcher"} == {4}
