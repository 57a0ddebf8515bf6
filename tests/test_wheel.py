"""A wheel built from the project works outside the checkout: it migrates a database and extracts a page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from pressmon.offline import qd_press

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            out,
            ROOT,
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pressmon-*.whl")
    return built


def test_the_wheel_carries_the_migrations_the_queries_the_dag_the_scrapy_settings_and_the_sources(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(n for n in names if n.startswith("pressmon/sql/") and n.endswith(".sql"))
    assert migrations == sorted(f"pressmon/sql/{p.name}" for p in (ROOT / "sql").glob("*.sql"))
    assert "pressmon/dags/pressmon_nightly.py" in names
    assert "crawlers/settings.py" in names and "crawlers/spiders/source.py" in names
    declared = sorted(
        f"pressmon/sources/registry/{p.name}" for p in (ROOT / "pressmon/sources/registry").glob("*.toml")
    )
    assert declared and set(declared) <= names
    assert any(n.startswith("parsers/data/taxonomies/") for n in names)
    queries = sorted(f"pressmon/store/{p.name}" for p in (ROOT / "pressmon/store").glob("*.sql"))
    assert queries and set(queries) <= names


def test_an_installed_wheel_migrates_extracts_and_crawls_outside_the_checkout(
    wheel, tmp_path, db_url, offline_site
):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", wheel], check=True, capture_output=True
    )
    # The dependencies come from the test environment's site-packages, added as a plain path: its .pth files
    # (the checkout's editable install among them) are not processed, so `pressmon` is the wheel's.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "PRESSMON_DATABASE_URL": db_url,
        "PRESSMON_VAR_DIR": str(tmp_path / "var"),
    }
    where = subprocess.run(
        [python, "-c", "import pressmon, crawlers; print(pressmon.__file__); print(crawlers.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(path.startswith(str(venv)) for path in where), where

    migrate = subprocess.run(
        [venv / "bin" / "pressmon", "db", "migrate"], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "database is up to date" in migrate.stdout  # the test database was migrated from the same files

    page = ROOT / "tests" / "fixtures" / "qd_press" / "detail-1206.html"
    extract = subprocess.run(
        [
            venv / "bin" / "pressmon",
            "extract",
            page,
            "--url",
            qd_press.real_url("/xwfbHtml/wangqihuigu/2023/0223/1206.html"),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert extract.returncode == 0, extract.stderr
    assert "科技创新推动先进制造业高质量发展" in extract.stdout

    # No scrapy.cfg in a wheel: the crawl names its settings module itself.
    assert "scrapy.cfg" not in {p.name for p in Path(purelib).iterdir()}
    crawl = subprocess.run(
        [venv / "bin" / "pressmon", "crawl", "qd_press"],
        cwd=elsewhere,
        env=env | {"PRESSMON_BASE_URL_QD_PRESS": offline_site.base_url, "PRESSMON_CRAWL_DELAY": "0"},
        capture_output=True,
        text=True,
    )
    assert crawl.returncode == 0, crawl.stderr
    assert json.loads(crawl.stdout)["detail_pages"] == len(offline_site.visible)

    # Outside a checkout, local state (the embedded Postgres) lives in the user's data folder.
    data_home = tmp_path / "data-home"
    var_dir = subprocess.run(
        [python, "-c", "from pressmon.config import Config; print(Config.from_env({}).var_dir)"],
        cwd=elsewhere,
        env=env | {"XDG_DATA_HOME": str(data_home)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert var_dir == str(data_home / "pressmon")
