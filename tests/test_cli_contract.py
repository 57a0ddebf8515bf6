"""What a user meets on the command line: one line per mistake, results on stdout, progress on stderr.

Bad input of every kind (arguments, configuration variables) ends with a non-zero exit and exactly one line
on stderr naming what was wrong, never a traceback; options work anywhere on the line; each command group has
its own help; results parse as JSON; a closed pipe is no error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from pressmon.cli import BROKEN_PIPE, USAGE_ERROR, main
from pressmon.progress import Lines
from pressmon.sources import registry
from tests.pages import add_page, releases

ROOT = Path(__file__).resolve().parent.parent
PRESSMON = Path(sys.executable).parent / "pressmon"
PAGE = ROOT / "tests" / "fixtures" / "qd_press" / "detail-1206.html"

# (argv, environment, exit code, what the one line must name). Files named "{tmp}/…" live in the test's tmp_path.
BAD_INPUT = [
    # -- configuration variables: each one, given a value pressmon cannot use
    (["sources"], {"PRESSMON_DATABASE_URL": "not a url"}, 1, "PRESSMON_DATABASE_URL"),
    (["sources"], {"PRESSMON_READER_URL": "not a url"}, 1, "PRESSMON_READER_URL"),
    (["sources"], {"PRESSMON_SCHEME": "nope"}, 1, "PRESSMON_SCHEME"),
    (["process"], {"PRESSMON_BATCH_SIZE": "0"}, 1, "PRESSMON_BATCH_SIZE must be at least 1"),
    (["process"], {"PRESSMON_BATCH_SIZE": "many"}, 1, "PRESSMON_BATCH_SIZE must be a whole number"),
    (["sources"], {"PRESSMON_CRAWL_DELAY": "soon"}, 1, "PRESSMON_CRAWL_DELAY must be a number"),
    (["sources"], {"PRESSMON_CRAWL_DELAY": "nan"}, 1, "PRESSMON_CRAWL_DELAY must be a finite number"),
    (["sources"], {"PRESSMON_DOWNLOAD_TIMEOUT": "0"}, 1, "PRESSMON_DOWNLOAD_TIMEOUT must be more than 0"),
    (["sources"], {"PRESSMON_CRAWL_OVERLAP": "-1"}, 1, "PRESSMON_CRAWL_OVERLAP must not be negative"),
    (["sources"], {"PRESSMON_MAX_LIST_PAGES": "0"}, 1, "PRESSMON_MAX_LIST_PAGES must be at least 1"),
    (["sources"], {"PRESSMON_OWED_RETRIES": "0"}, 1, "PRESSMON_OWED_RETRIES must be at least 1"),
    (["process"], {"PRESSMON_PROCESS_WORKERS": "0"}, 1, "PRESSMON_PROCESS_WORKERS must be at least 1"),
    (["process"], {"PRESSMON_PROCESS_TASKS": "0"}, 1, "PRESSMON_PROCESS_TASKS must be at least 1"),
    (["process"], {"PRESSMON_SEGMENTER": "rust"}, 1, "PRESSMON_SEGMENTER must be jieba or rjieba"),
    (["sources"], {"PRESSMON_MAX_PAGE_BYTES": "0"}, 1, "PRESSMON_MAX_PAGE_BYTES must be at least 1"),
    (["sources"], {"PRESSMON_CONNECT_TIMEOUT": "ten"}, 1, "PRESSMON_CONNECT_TIMEOUT must be a whole number"),
    (["sources"], {"PRESSMON_TASK_RETRIES": "-2"}, 1, "PRESSMON_TASK_RETRIES must not be negative"),
    (["alert"], {"PRESSMON_SMTP_URL": "http://mail.example.org"}, 1, "PRESSMON_SMTP_URL"),
    (["sources"], {"PRESSMON_MAIL_FROM": "nobody"}, 1, "PRESSMON_MAIL_FROM"),
    (["sources"], {"PRESSMON_CONTACT": "mailto:a@example.org\nX-Evil: 1"}, 1, "PRESSMON_CONTACT"),
    (["sources"], {"PRESSMON_FAILURE_EMAIL": "a@b"}, 1, "PRESSMON_FAILURE_EMAIL"),
    (["sources"], {"PRESSMON_OPERATOR_EMAIL": "ops@"}, 1, "PRESSMON_OPERATOR_EMAIL"),
    (
        ["health"],
        {"PRESSMON_OPERATOR_EMAIL": "ops@example.org\nBcc: x@example.org"},
        1,
        "PRESSMON_OPERATOR_EMAIL",
    ),
    (["sources"], {"PRESSMON_PARSE_ERROR_SHARE": "half"}, 1, "PRESSMON_PARSE_ERROR_SHARE must be a number"),
    (
        ["sources"],
        {"PRESSMON_PARSE_ERROR_SHARE": "1.5"},
        1,
        "PRESSMON_PARSE_ERROR_SHARE must be a share below 1",
    ),
    (
        ["sources"],
        {"PRESSMON_PARSE_ERROR_SHARE": "-0.1"},
        1,
        "PRESSMON_PARSE_ERROR_SHARE must not be negative",
    ),
    (["sources"], {"PRESSMON_SMTP_CONN_ID": "smtp\ndefault"}, 1, "PRESSMON_SMTP_CONN_ID"),
    (["sources"], {"PRESSMON_LOG_LEVEL": "LOUD"}, 1, "PRESSMON_LOG_LEVEL"),
    (["sources"], {"PRESSMON_CRAWL_LOG_LEVEL": "chatty"}, 1, "PRESSMON_CRAWL_LOG_LEVEL"),
    (["sources"], {"PRESSMON_BASE_URL_QD_PRESS": "ftp://mirror"}, 1, "PRESSMON_BASE_URL_QD_PRESS"),
    (["sources"], {"PRESSMON_SOURCES": "qd_press,nowhere"}, 1, "PRESSMON_SOURCES must name declared sources"),
    (["db", "url"], {"PRESSMON_BATCH_SIZE": "0"}, 1, "PRESSMON_BATCH_SIZE"),
    # -- arguments
    (["sources", "disable"], {}, 1, "sources disable needs a source code"),
    (["sources", "enable", "nowhere"], {}, 1, "no source 'nowhere'"),
    (["sources", "explode"], {}, USAGE_ERROR, "argument action: invalid choice"),
    (["subscribe", "add", "a@b"], {}, 1, "subscribe add EMAIL: not an email address"),
    (["subscribe", "add", "foo@bar..com"], {}, 1, "subscribe add EMAIL: not an email address"),
    (["subscribe", "add", "x@example.org\nBcc: y@example.org"], {}, 1, "subscribe add EMAIL"),
    (["subscribe", "add", "a@example.org", "--chain", "区块链"], {}, 1, "unknown chain"),
    (["subscribe", "remove", "999"], {}, 1, "no active subscription"),
    (["health", "--run-key", "nope"], {}, 1, "no crawl run 'nope'"),
    (["crawl"], {}, USAGE_ERROR, "required: source"),
    (["crawl", "nowhere"], {}, 1, "no source named 'nowhere'"),
    (["retag", "--scheme", "nope"], {}, 1, "no scheme 'nope'"),
    (["tag", "{tmp}/a.txt", "--scheme", "nope"], {}, 1, "no scheme 'nope'"),
    (["extract", "{tmp}/missing.html"], {}, 1, "cannot read"),
    (["nope"], {}, USAGE_ERROR, "argument COMMAND: invalid choice: 'nope'"),
    (["--bogus"], {}, USAGE_ERROR, "unrecognized arguments: --bogus"),
    (["db", "migrate", "now"], {}, USAGE_ERROR, "unrecognized arguments: now"),
]
# Variables with no value to refuse: any folder will do, and pressmon sets the run id itself.
NOTHING_TO_REFUSE = {"PRESSMON_VAR_DIR", "PRESSMON_RUN_ID"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the CLI in this process; return its exit code, stdout and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exit:  # argparse: --help, --version, usage errors
        code = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def pressmon(*argv: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PRESSMON), *argv], env=env, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


@pytest.fixture
def clean_env(db_url) -> dict[str, str]:
    """The environment of a fresh shell pointed at the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSMON_")}
    return env | {"PRESSMON_DATABASE_URL": db_url}


@pytest.mark.parametrize(
    "argv, env, code, names", BAD_INPUT, ids=[" ".join(row[0]) + " " + " ".join(row[1]) for row in BAD_INPUT]
)
def test_a_mistake_is_one_line_naming_it_and_a_nonzero_exit(
    capsys, monkeypatch, db_url, tmp_path, argv, env, code, names
):
    (tmp_path / "a.txt").write_text("标题\n正文", encoding="utf-8")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    status, _, err = run(capsys, *[arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    assert status == code, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert names in lines[0]
    if code == 1:
        assert lines[0].startswith("pressmon: ")


def test_the_table_refuses_a_bad_value_of_every_documented_variable():
    documented = set(re.findall(r"^\| `(PRESSMON_[A-Z_]+)", (ROOT / "README.md").read_text(), re.M))
    covered = {key for _, env, _, _ in BAD_INPUT for key in env}
    assert documented - covered - NOTHING_TO_REFUSE == {"PRESSMON_BASE_URL_"}  # covered as _QD_PRESS
    assert any(key.startswith("PRESSMON_BASE_URL_") for key in covered)


def test_debug_shows_the_traceback_of_a_failure(capsys, db_url):
    for argv in (
        ["--debug", "crawl", "nowhere"],
        ["crawl", "nowhere", "--debug"],
        ["crawl", "-v", "nowhere"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 1 and "Traceback" in err, argv
        assert err.splitlines()[-1].startswith("pressmon: no source named")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"pressmon {version('pressmon')}"


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "extract", str(PAGE)],
        ["extract", "-v", str(PAGE)],
        ["extract", str(PAGE), "-v"],
        ["extract", str(PAGE), "--verbose", "-q"],
        ["-q", "extract", str(PAGE)],
        ["extract", str(PAGE), "--debug"],
    ],
)
def test_verbosity_options_work_anywhere_on_the_line(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out)["title"]


def test_options_before_and_after_the_action_of_a_group(capsys, db_url):
    for argv in (["db", "-v", "migrate"], ["db", "migrate", "-q"], ["-v", "db", "migrate"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "up to date" in out, argv


def test_log_level_from_the_environment_and_from_the_options(capsys, monkeypatch):
    import logging

    def level(*argv: str) -> int:
        code, _, _ = run(capsys, *argv, "extract", str(PAGE))
        assert code == 0
        return logging.getLogger().level

    assert level() == logging.WARNING
    assert level("-v") == logging.INFO
    assert level("-vv") == logging.DEBUG
    assert level("-q") == logging.ERROR
    monkeypatch.setenv("PRESSMON_LOG_LEVEL", "info")
    assert level() == logging.INFO
    assert level("-q") == logging.ERROR


@pytest.mark.parametrize(
    "group, actions", [("db", ["migrate", "stop", "url"]), ("subscribe", ["add", "list", "remove"])]
)
def test_a_group_alone_shows_its_own_help(capsys, group, actions):
    code, out, err = run(capsys, group)
    assert code == USAGE_ERROR and out == ""
    assert err.startswith(f"usage: pressmon {group} ")
    assert all(action in err for action in actions)
    assert "extract" not in err  # not the top-level help


def test_results_are_json_on_stdout_and_progress_is_on_stderr(capsys, store, db_url):
    add_page(store, releases()[2023])
    add_page(store, releases()[1650])
    code, out, err = run(capsys, "process")
    assert code == 0 and json.loads(out) == {"new": 2}
    assert re.search(r"^process: 2/2 pages .*/s", err, re.M)
    code, out, err = run(capsys, "process", "-q")
    assert code == 0 and json.loads(out) == {} and err == ""
    code, out, err = run(capsys, "reprocess")
    assert code == 0 and json.loads(out) == {"requeued": 2, "unchanged": 2}
    code, out, _ = run(capsys, "retag")
    assert code == 0 and json.loads(out)["releases"] == 2
    code, out, _ = run(capsys, "alert")
    assert code == 0 and isinstance(json.loads(out), dict)

    run(capsys, "subscribe", "add", "Desk@Example.ORG", "--chain", "低空经济")
    code, out, _ = run(capsys, "subscribe", "list", "--json")
    (subscription,) = json.loads(out)
    assert subscription["email"] == "Desk@example.org"  # the domain in its normal form
    assert subscription["chains"] == ["低空经济"]
    code, out, _ = run(capsys, "sources", "--json")
    assert [row["code"] for row in json.loads(out)] == sorted(registry())
    assert {"enabled", "authority", "crawl_url", "owed", "given_up"} <= set(json.loads(out)[0])


def test_a_reader_that_goes_away_is_no_error(tmp_path, clean_env):
    # More than a pipe holds (64 KiB), so pressmon is still writing when the reader has gone.
    paragraphs = "".join(
        f"<p>第{n}段：青岛市推动低空经济高质量发展，培育无人机产业集群。</p>" for n in range(4000)
    )
    page = tmp_path / "long.html"
    page.write_text(
        f"<html><head><title>关于低空经济的新闻发布会</title></head><body><h1>关于低空经济的新闻发布会</h1>"
        f"<div class='content'>{paragraphs}</div></body></html>",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(PRESSMON), "extract", str(page)], env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    first = [process.stdout.readline(), process.stdout.readline()]
    process.stdout.close()  # what `| head -2` does
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == BROKEN_PIPE
    assert first[0].strip() == b"{" and err == ""


def test_progress_on_a_terminal_is_one_live_line(store, clean_env):
    import pty

    add_page(store, releases()[2023])
    primary, secondary = pty.openpty()
    try:
        completed = subprocess.run(
            [str(PRESSMON), "process"],
            env=clean_env,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=120,
            check=False,
        )
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert completed.returncode == 0 and json.loads(completed.stdout) == {"new": 1}
    text = shown.decode()
    assert "\r" in text and "\x1b[K" in text  # redrawn in place
    assert re.search(r"process: 1/1 pages\s+[\d.]+/s", text)


def test_plain_progress_lines_show_the_count_the_rate_and_the_time_left():
    now = [0.0]
    written: list[str] = []
    progress = Lines(written.append, every=10, clock=lambda: now[0])
    progress.start("process", 100, "pages")
    now[0] = 5.0
    progress.update(20)
    assert written == []  # not yet: a line every 10 s
    now[0] = 10.0
    progress.update(50, detail="new 50")
    # 50 pages in 10 s: 5 a second, so 50 more take 10 s.
    assert written == ["process: 50/100 pages  5.0/s  ETA 10s  (new 50)"]
    now[0] = 20.0
    progress.update(100)
    progress.finish()
    assert written[-1] == "process: 100/100 pages  5.0/s  in 20s"
    progress.start("crawl qd_press", None, "pages fetched")
    now[0] = 32.0
    progress.update(24, 30)  # a crawl learns its size as it goes
    assert written[-1].startswith("crawl qd_press: 24/30 pages fetched  2.0/s  ETA 3s")


def test_a_crawl_prints_its_summary_and_scrapys_stats_only_with_verbose(offline_site, clean_env):
    env = clean_env | {"PRESSMON_BASE_URL_QD_PRESS": offline_site.base_url, "PRESSMON_CRAWL_DELAY": "0"}
    crawled = pressmon("crawl", "qd_press", env=env)
    assert crawled.returncode == 0, crawled.stderr
    summary = json.loads(crawled.stdout)
    assert summary["source"] == "qd_press" and summary["detail_pages"] == len(offline_site.visible)
    assert "Dumping Scrapy stats" not in crawled.stderr
    fetched = re.search(r"^crawl qd_press: (\d+)/(\d+) pages fetched .*/s", crawled.stderr, re.M)
    assert fetched and int(fetched.group(1)) > len(offline_site.visible)  # list pages and robots.txt too
    again = pressmon("crawl", "qd_press", "-v", env=env)
    assert again.returncode == 0 and "Dumping Scrapy stats" in again.stderr


def test_a_failed_crawl_ends_with_one_line(clean_env):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = clean_env | {
        "PRESSMON_BASE_URL_QD_PRESS": f"http://127.0.0.1:{port}",
        "PRESSMON_DOWNLOAD_TIMEOUT": "3",
    }
    crawled = pressmon("crawl", "qd_press", env=env)
    assert crawled.returncode == 1 and crawled.stdout == ""
    assert "Traceback" not in crawled.stderr and "Dumping Scrapy stats" not in crawled.stderr
    last = crawled.stderr.splitlines()[-1]
    assert last.startswith("pressmon: crawl of qd_press failed (") and "-v" in last
    assert [line for line in crawled.stderr.splitlines() if line.startswith("pressmon:")] == [last]
