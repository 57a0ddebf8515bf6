"""The production stack (docker-compose.yml, Dockerfile, .env.example, Postgres init) checked as data.

No Docker engine runs here, so nothing is started: the compose file is read with yaml.safe_load, its ${VAR}
references are resolved the way compose resolves them, with .env.example standing in for .env, and what comes
out is checked against the project's own code (its configuration, its SMTP URL parser, Airflow's connection
parser) and against the other files of the stack.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
CONSTRAINTS = ROOT / "constraints.txt"
POSTGRES_INIT = ROOT / "docker" / "postgres-init"

PROJECT_IN_IMAGE = "/opt/pressmon"
AIRFLOW_COMMANDS = ("api-server", "scheduler", "dag-processor", "triggerer")
WORKER_COMMAND = "airflow celery worker"
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
# What the image must hold for pressmon and its DAG to run (steps.PROJECT_ROOT, store.SQL_DIR, scrapy.cfg).
RUNTIME_PATHS = (
    "pyproject.toml",
    "constraints.txt",
    "scrapy.cfg",
    "pressmon",
    "parsers",
    "crawlers",
    "sql",
    "dags",
)
CELERY_PROVIDER = "apache-airflow-providers-celery"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET")
URL_AND_JSON_SAFE = re.compile(r"[A-Za-z0-9_-]+")

# $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt}, ${NAME+alt}, $NAME
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


# -- reading the files ------------------------------------------------------------------------------------


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str], used: set[str]) -> str:
    """Resolve ${VAR} references as docker compose does; record every variable name met in `used`."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        used.add(name)
        op, arg = match.group("op"), match.group("arg") or ""
        if not op:
            return env.get(name, "")
        triggered = env.get(name, "") == "" if op.startswith(":") else name not in env
        if op.endswith("-"):
            return arg if triggered else env[name]
        if op.endswith("?"):
            if triggered:
                raise MissingVariable(f"{name}: {arg}")
            return env[name]
        return "" if triggered else arg  # ":+" / "+"

    return VARIABLE.sub(replace, text)


def interpolate_tree(node: Any, env: dict[str, str], used: set[str]) -> Any:
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env, used) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(value, env, used) for value in node]
    if isinstance(node, str):
        return interpolate(node, env, used)
    return node


def read_env_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return the variables of a .env file and, for each, the comment lines right above it."""
    values: dict[str, str] = {}
    comments: dict[str, str] = {}
    block: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            block = []
        elif stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
        else:
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", stripped)
            assert match, f"{path.name}:{number}: not NAME=value: {line!r}"
            name, value = match.groups()
            assert name not in values, f"{path.name}: {name} is set twice"
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[name] = value
            comments[name] = " ".join(block)
            block = []
    return values, comments


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, continuation lines joined and comments left out."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def image_location(instructions: list[tuple[str, str]], path: str) -> str | None:
    """Where a project path (file or folder) lands in the image, following Docker's COPY rules."""
    for keyword, arguments in instructions:
        if keyword not in {"COPY", "ADD"}:
            continue
        tokens = [token for token in shlex.split(arguments) if not token.startswith("--")]
        *sources, destination = tokens
        for source in sources:
            source = source.rstrip("/") or "."
            if source in {".", "./"}:
                return posixpath.join(destination, path)
            if not fnmatch.fnmatch(path, source):
                continue
            if (ROOT / path).is_dir():
                return destination.rstrip("/")  # a folder's contents, not the folder, are copied
            if destination.endswith("/") or len(sources) > 1:
                return posixpath.join(destination, posixpath.basename(path))
            return destination
    return None


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for token in shlex.split(arguments):
                name, sep, value = token.partition("=")
                assert sep, f"use ENV NAME=value, not {arguments!r}"
                env[name] = value
    return env


def split_extras(requirement: str) -> tuple[str, set[str]]:
    """Split `path[extra,…]` into the path and its extras."""
    match = re.fullmatch(r"(?P<path>[^\[]+)(?:\[(?P<extras>[^\]]*)\])?", requirement)
    assert match, requirement
    return match["path"], {extra.strip() for extra in (match["extras"] or "").split(",") if extra.strip()}


def pinned_airflow_version() -> str:
    match = re.search(r"^apache-airflow==(\S+)$", CONSTRAINTS.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "constraints.txt pins no apache-airflow version"
    return match.group(1)


def container_ports(service: dict[str, Any], key: str = "ports") -> set[int]:
    ports = set()
    for entry in service.get(key, []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def command_text(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    value = service.get("depends_on", {})
    if isinstance(value, list):  # short form: no condition, which means service_started
        return {name: {"condition": "service_started"} for name in value}
    return value


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)[0]


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture(scope="module")
def used_variables(raw_compose: dict[str, Any], env_example: dict[str, str]) -> set[str]:
    used: set[str] = set()
    interpolate_tree(raw_compose, env_example, used)
    return used


@pytest.fixture(scope="module")
def services(raw_compose: dict[str, Any], env_example: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The services as compose would run them with .env.example copied to .env."""
    return interpolate_tree(raw_compose, env_example, set())["services"]


def find_by_image(services: dict[str, dict[str, Any]], prefix: str) -> str:
    names = [name for name, service in services.items() if str(service.get("image", "")).startswith(prefix)]
    assert len(names) == 1, f"expected one service running an {prefix}* image, found {names}"
    return names[0]


@pytest.fixture(scope="module")
def postgres(services: dict[str, dict[str, Any]]) -> str:
    return find_by_image(services, "postgres:")


@pytest.fixture(scope="module")
def mail_catcher(services: dict[str, dict[str, Any]]) -> str:
    return find_by_image(services, "axllent/mailpit")


@pytest.fixture(scope="module")
def airflow_services(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Airflow role (api-server, scheduler, dag-processor, triggerer, init) -> service name."""
    roles: dict[str, str] = {}
    for command in AIRFLOW_COMMANDS:
        names = [name for name, service in services.items() if command_text(service).strip() == command]
        assert len(names) == 1, f"expected one service with command {command!r}, found {names}"
        roles[command] = names[0]
    inits = [name for name, service in services.items() if "airflow db migrate" in command_text(service)]
    assert len(inits) == 1, f"expected one init service running `airflow db migrate`, found {inits}"
    roles["init"] = inits[0]
    return roles


def celery_workers(services: dict[str, dict[str, Any]]) -> list[str]:
    """The services that run `airflow celery worker` (profile "celery")."""
    return sorted(name for name, service in services.items() if WORKER_COMMAND in command_text(service))


def each_airflow_service(
    services: dict[str, dict[str, Any]], airflow_services: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every service of the Airflow image, the Celery workers included: they run the tasks under Celery."""
    for name in [*airflow_services.values(), *celery_workers(services)]:
        yield name, services[name]


# -- services ---------------------------------------------------------------------------------------------


def test_required_services_exist(services, postgres, mail_catcher, airflow_services):
    assert postgres == "postgres"
    assert set(airflow_services) == {*AIRFLOW_COMMANDS, "init"}
    assert airflow_services["init"] == "airflow-init"
    assert len({postgres, mail_catcher, *airflow_services.values()}) == 7


def test_mail_catcher_takes_smtp_on_1025_and_shows_it_on_8025(services, mail_catcher):
    service = services[mail_catcher]
    assert 1025 in container_ports(service, "expose") | container_ports(service)
    assert 8025 in container_ports(service)
    assert service.get("healthcheck", {}).get("test")


def test_api_server_runs_api_server_on_port_8080(services, airflow_services):
    service = services[airflow_services["api-server"]]
    assert service["command"] == "api-server"
    assert 8080 in container_ports(service)
    assert "8080" in " ".join(service["healthcheck"]["test"])


def test_init_migrates_airflow_then_pressmon(services, airflow_services):
    script = command_text(services[airflow_services["init"]])
    assert script.index("airflow db migrate") < script.index("pressmon db migrate")
    assert "set -e" in script  # a failed migration must fail the init service, and so hold back the rest
    assert "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script


def test_airflow_services_wait_for_init(services, airflow_services):
    for command in AIRFLOW_COMMANDS:
        dependencies = depends_on(services[airflow_services[command]])
        assert dependencies[airflow_services["init"]]["condition"] == "service_completed_successfully", (
            command
        )


# -- image ------------------------------------------------------------------------------------------------


def test_airflow_services_are_built_from_this_project(services, airflow_services):
    images = set()
    for name, service in each_airflow_service(services, airflow_services):
        build = service.get("build")
        assert build is not None, f"{name} is not built from the project"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert Path(context) == Path("."), f"{name} builds from {context!r}, not the project folder"
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE
        images.add(service.get("image"))
    assert len(images) == 1, f"the Airflow services should share one image, got {images}"


def test_dockerfile_from_tag_matches_pinned_airflow():
    instructions = dockerfile_instructions()
    froms = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert len(froms) == 1
    image = next(token for token in froms[0].split() if not token.startswith("--"))
    assert image == f"apache/airflow:{pinned_airflow_version()}-python3.11"


def test_dockerfile_installs_the_project_with_the_constraints_file():
    instructions = dockerfile_instructions()
    user = "root"
    installs = []
    for keyword, arguments in instructions:
        if keyword == "USER":
            user = arguments.split(":")[0]
        if keyword == "RUN" and "pip install" in arguments:
            installs.append((user, arguments))
    assert len(installs) == 1, installs
    user, arguments = installs[0]
    assert user == "airflow", "the image's convention: pip runs as the airflow user"
    tokens = shlex.split(arguments)
    command = tokens[tokens.index("pip") : tokens.index("&&") if "&&" in tokens else None]
    assert "--no-cache-dir" in command
    constraints = command[command.index("-c") + 1]
    editable, extras = split_extras(command[command.index("-e") + 1])
    assert editable.rstrip("/") == PROJECT_IN_IMAGE
    assert constraints == image_location(instructions, "constraints.txt")
    # The workers of the celery profile run this image: the Celery provider comes pinned with the project.
    assert "celery" in extras


def test_the_celery_provider_is_pinned_in_the_extra_the_image_installs():
    import tomllib
    from importlib.metadata import version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["celery"]
    assert any(re.match(rf"{CELERY_PROVIDER}\b", requirement) for requirement in extra), extra
    pins = dict(
        line.split("==", 1) for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines() if "==" in line
    )
    assert CELERY_PROVIDER in pins, "constraints.txt does not pin the Celery provider"
    for package in ("celery", "kombu", "redis"):  # what the provider's celery[redis] brings
        assert package in pins, f"constraints.txt does not pin {package}"
    # What the test suite (and `make scale-check`) ran is what the image gets.
    assert version(CELERY_PROVIDER) == pins[CELERY_PROVIDER]


def test_dockerfile_copies_everything_pressmon_runs_from():
    instructions = dockerfile_instructions()
    for path in RUNTIME_PATHS:
        assert (ROOT / path).exists(), path
        assert image_location(instructions, path) == f"{PROJECT_IN_IMAGE}/{path}", path


def test_dags_folder_is_the_projects_dags_folder(services, airflow_services):
    dags_folder = f"{PROJECT_IN_IMAGE}/dags"
    instructions = dockerfile_instructions()
    assert dockerfile_env(instructions)["AIRFLOW__CORE__DAGS_FOLDER"] == dags_folder
    assert image_location(instructions, "dags") == dags_folder
    for name, service in each_airflow_service(services, airflow_services):
        assert service["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == dags_folder, name
    assert 'dag_id="pressmon_nightly"' in (ROOT / "dags" / "pressmon_nightly.py").read_text(encoding="utf-8")


# -- Airflow configuration --------------------------------------------------------------------------------


def test_airflow_runs_local_executor_sized_for_two_cores(services, airflow_services):
    for name, service in each_airflow_service(services, airflow_services):
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert str(env["AIRFLOW__CORE__PARALLELISM"]) == "4", name
        assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false", name


def test_airflow_services_share_secrets_and_reach_the_execution_api(services, airflow_services):
    keys = (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    )
    seen = {
        key: {service["environment"][key] for _, service in each_airflow_service(services, airflow_services)}
        for key in keys
    }
    for key, values in seen.items():
        assert len(values) == 1 and "" not in values, f"{key} differs between services or is empty"
    execution_api = urlsplit(next(iter(seen["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])))
    assert execution_api.hostname == airflow_services["api-server"]
    assert execution_api.port == 8080
    assert execution_api.path.startswith("/execution")


def test_simple_auth_password_file_is_shared_by_init_and_api_server(services, airflow_services):
    init = services[airflow_services["init"]]
    api = services[airflow_services["api-server"]]
    path = init["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert api["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == path
    assert "SimpleAuthManager" in api["environment"]["AIRFLOW__CORE__AUTH_MANAGER"]
    folder = posixpath.dirname(path)
    mounts = [
        {v.split(":")[0] for v in s.get("volumes", []) if v.split(":")[1] == folder} for s in (init, api)
    ]
    assert mounts[0] and mounts[0] == mounts[1], "init and api-server must mount the same volume there"
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"]


# -- databases --------------------------------------------------------------------------------------------


def test_airflow_metadata_and_pressmon_use_different_databases_on_postgres(
    services, airflow_services, postgres
):
    server_env = services[postgres]["environment"]
    for name, service in each_airflow_service(services, airflow_services):
        env = service["environment"]
        metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        pressmon = urlsplit(env["PRESSMON_DATABASE_URL"])
        assert metadata.scheme == "postgresql+psycopg2", name
        assert pressmon.scheme == "postgresql", name
        assert metadata.hostname == pressmon.hostname == postgres, name
        assert metadata.port in (None, 5432) and pressmon.port in (None, 5432), name
        assert metadata.path != pressmon.path, f"{name}: Airflow and pressmon share a database"
        # The init script creates exactly these databases and roles, from the postgres service's environment.
        assert (metadata.path.lstrip("/"), metadata.username, metadata.password) == (
            server_env["AIRFLOW_DB_NAME"],
            server_env["AIRFLOW_DB_USER"],
            server_env["AIRFLOW_DB_PASSWORD"],
        )
        assert (pressmon.path.lstrip("/"), pressmon.username, pressmon.password) == (
            server_env["PRESSMON_DB_NAME"],
            server_env["PRESSMON_DB_USER"],
            server_env["PRESSMON_DB_PASSWORD"],
        )


def test_postgres_init_script_creates_both_databases(services, postgres):
    mounts = [volume.split(":") for volume in services[postgres]["volumes"]]
    sources = [Path(source) for source, target, *_ in mounts if target == "/docker-entrypoint-initdb.d"]
    assert sources and (ROOT / sources[0]).resolve() == POSTGRES_INIT
    scripts = sorted(POSTGRES_INIT.glob("*.sh"))
    assert scripts, "no init script"
    text = "\n".join(script.read_text(encoding="utf-8") for script in scripts)
    for variable in (
        "PRESSMON_DB_NAME",
        "PRESSMON_DB_USER",
        "PRESSMON_DB_PASSWORD",
        "AIRFLOW_DB_NAME",
        "AIRFLOW_DB_USER",
        "AIRFLOW_DB_PASSWORD",
    ):
        assert variable in text, variable
    assert text.count("CREATE DATABASE") >= 2
    assert "CREATEROLE" in text, "migration 0003 creates the role pressmon_reader"
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_every_service_that_needs_postgres_waits_until_it_is_healthy(services, airflow_services, postgres):
    assert services[postgres]["healthcheck"]["test"]
    for name in airflow_services.values():
        assert postgres in depends_on(services[name]), f"{name} does not wait for {postgres}"
    for name, service in services.items():
        dependency = depends_on(service).get(postgres)
        if dependency is not None:
            assert dependency.get("condition") == "service_healthy", name


# -- pressmon configuration and connections ---------------------------------------------------------------


def test_pressmon_configuration_reaches_every_airflow_service(
    services, airflow_services, postgres, mail_catcher
):
    from crawlers.settings import SPIDER_MODULES
    from pressmon.config import BASE_URL_PREFIX, Config
    from pressmon.mail import SmtpTarget
    from pressmon.sources import registry

    assert SPIDER_MODULES == ["crawlers.spiders"]
    sources = set(registry())
    mail_ports = container_ports(services[mail_catcher], "expose") | container_ports(services[mail_catcher])
    for name, service in each_airflow_service(services, airflow_services):
        env = {key: str(value) for key, value in service["environment"].items()}
        config = Config.from_env(env)
        assert config.database_url == env["PRESSMON_DATABASE_URL"]
        assert urlsplit(config.database_url).hostname == postgres
        assert config.smtp_url == env["PRESSMON_SMTP_URL"]
        target = SmtpTarget.from_url(config.smtp_url)
        assert (target.host, target.tls) == (mail_catcher, "none"), name
        assert target.port in mail_ports, name
        assert config.contact != Config().contact, f"{name}: PRESSMON_CONTACT is not set"
        assert "PRESSMON_FAILURE_EMAIL" in env, name
        assert config.task_retries == int(env["PRESSMON_TASK_RETRIES"]), name
        for key in env:
            if key.startswith(BASE_URL_PREFIX):
                assert key[len(BASE_URL_PREFIX) :].lower() in sources, f"{key} names no declared source"
        mirrored = Config.from_env({**env, "PRESSMON_BASE_URL_QD_PRESS": "http://mirror.internal:8000/"})
        assert mirrored.base_urls["qd_press"] == "http://mirror.internal:8000"


def test_smtp_connection_comes_from_json_and_points_at_the_mail_catcher(
    services, airflow_services, mail_catcher
):
    from airflow.models.connection import Connection
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from pressmon.config import Config

    for name, service in each_airflow_service(services, airflow_services):
        env = service["environment"]
        # What the DAG's failure notifier uses, and the alerts when PRESSMON_SMTP_URL is unset.
        conn_id = Config.from_env({k: str(v) for k, v in env.items()}).smtp_conn_id
        value = env[f"AIRFLOW_CONN_{conn_id.upper()}"]
        fields = json.loads(value)  # JSON form, not a URI
        assert fields["conn_type"] == "smtp"
        hook = SmtpHook(smtp_conn_id=conn_id)
        hook.smtp_connection = Connection.from_json(value, conn_id=conn_id)
        assert (hook.host, hook.port) == (mail_catcher, 1025), name
        assert not hook.use_ssl and not hook.smtp_starttls, f"{name}: Mailpit speaks plain SMTP"
        assert hook.from_email == env["PRESSMON_MAIL_FROM"], name


def test_only_the_smtp_connection_is_defined_pressmon_reaches_its_database_by_url(services, airflow_services):
    for name, service in each_airflow_service(services, airflow_services):
        connections = sorted(key for key in service["environment"] if key.startswith("AIRFLOW_CONN_"))
        assert connections == ["AIRFLOW_CONN_SMTP_DEFAULT"], name


# -- .env.example -----------------------------------------------------------------------------------------


def test_env_example_lists_exactly_the_variables_compose_reads(used_variables, env_example):
    assert used_variables, "the compose file reads no variables"
    assert sorted(used_variables - set(env_example)) == [], (
        "read by docker-compose.yml, missing in .env.example"
    )
    assert sorted(set(env_example) - used_variables) == [], (
        "in .env.example, never read by docker-compose.yml"
    )


def test_compose_refuses_to_start_without_secrets(raw_compose, env_example):
    without = {key: value for key, value in env_example.items() if not SECRET_NAME.search(key)}
    with pytest.raises(MissingVariable):
        interpolate_tree(raw_compose, without, set())


def test_env_example_explains_every_variable_and_marks_secrets():
    values, comments = read_env_file(ENV_EXAMPLE)
    for name, value in values.items():
        assert comments[name], f"{name} has no comment"
        if SECRET_NAME.search(name):
            assert "change me" in comments[name].lower(), f"{name}: say 'change me'"
            assert value, f"{name} has no placeholder"
        if "PASSWORD" in name:
            assert URL_AND_JSON_SAFE.fullmatch(value), (
                f"{name} goes into URLs and JSON: keep it [A-Za-z0-9_-]"
            )
    assert "PRESSMON_BASE_URL_QD_PRESS" in values
    assert "mirror" in comments["PRESSMON_BASE_URL_QD_PRESS"]


# -- analysts: the read-only role, the weekly report, Metabase --------------------------------------------


def test_the_weekly_report_reads_as_the_reader_whose_password_init_sets(services, airflow_services, postgres):
    init = services[airflow_services["init"]]
    script = command_text(init)
    assert script.index("pressmon db migrate") < script.index("ALTER ROLE pressmon_reader PASSWORD")
    password = init["environment"]["PRESSMON_READER_PASSWORD"]
    assert password
    for name, service in each_airflow_service(services, airflow_services):
        from pressmon.config import Config

        config = Config.from_env({k: str(v) for k, v in service["environment"].items()})
        reader = urlsplit(config.reader_url)
        pressmon = urlsplit(config.database_url)
        assert (reader.username, reader.password) == ("pressmon_reader", password), name
        assert (reader.hostname, reader.port, reader.path) == (
            pressmon.hostname,
            pressmon.port,
            pressmon.path,
        )


def test_the_image_holds_a_font_that_draws_chinese():
    runs = " ".join(arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN")
    assert re.search(r"apt-get install[^&]*fonts-(wqy-microhei|noto-cjk)", runs)
    assert "cjk_font()" in runs, "the build checks that the charts find the font"


def test_metabase_is_optional_local_and_reads_as_pressmon_reader(services, postgres, airflow_services):
    images = [n for n, s in services.items() if str(s.get("image", "")).startswith("metabase/metabase:")]
    (setup,) = [n for n in images if "/api/setup" in command_text(services[n])]
    (metabase,) = [n for n in images if n != setup]  # one service runs Metabase itself …
    for name in (metabase, setup):
        assert services[name].get("profiles") == ["bi"], f"{name} must not start with a plain `up`"
        assert not str(services[name]["image"]).endswith(":latest")
    service = services[metabase]
    assert 3000 in container_ports(service)
    assert all(str(p).startswith("127.0.0.1:") for p in service["ports"])
    assert service["healthcheck"]["test"] and depends_on(service)[postgres]["condition"] == "service_healthy"
    assert depends_on(service)[airflow_services["init"]]["condition"] == "service_completed_successfully"
    assert any(v.startswith("metabase-data:") for v in service["volumes"])
    # … and the setup connects it to the pressmon database as the reader, limited to `reporting`.
    env = services[setup]["environment"]
    script = command_text(services[setup])
    server = services[postgres]["environment"]
    init_env = services[airflow_services["init"]]["environment"]
    assert depends_on(services[setup])[metabase]["condition"] == "service_healthy"
    assert '"user": "pressmon_reader"' in script and '"engine": "postgres"' in script
    assert '"schema-filters-patterns": "reporting"' in script and '"host": "postgres"' in script
    assert env["PRESSMON_DB_NAME"] == server["PRESSMON_DB_NAME"]
    assert env["PRESSMON_READER_PASSWORD"] == init_env["PRESSMON_READER_PASSWORD"]
    for variable in (
        "PRESSMON_DB_NAME",
        "PRESSMON_READER_PASSWORD",
        "METABASE_ADMIN_EMAIL",
        "METABASE_ADMIN_PASSWORD",
    ):
        assert f"${{{variable}}}" in script, variable
    assert env["METABASE_ADMIN_PASSWORD"]


# -- the profile "celery": Redis and Celery workers -------------------------------------------------------


@pytest.fixture(scope="module")
def celery_services(raw_compose: dict[str, Any], env_example: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The services as compose would run them with CeleryExecutor chosen in .env."""
    return interpolate_tree(raw_compose, env_example | {"AIRFLOW_EXECUTOR": "CeleryExecutor"}, set())[
        "services"
    ]


@pytest.fixture(scope="module")
def broker(services: dict[str, dict[str, Any]]) -> str:
    return find_by_image(services, "redis:")


def test_the_celery_profile_holds_redis_and_two_named_workers(services, airflow_services, broker):
    redis = services[broker]
    assert redis.get("profiles") == ["celery"], "Redis must not start with a plain `up`"
    assert not redis.get("ports"), "the broker has no password: compose network only"
    assert 6379 in container_ports(redis, "expose")
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    workers = celery_workers(services)
    assert len(workers) >= 2, workers
    hostnames = [services[name].get("hostname") for name in workers]
    assert all(hostnames) and len(set(hostnames)) == len(workers), "each worker needs a hostname of its own"
    for name in workers:
        worker = services[name]
        assert worker.get("profiles") == ["celery"], name
        script = command_text(worker)
        # The Celery node is named after the container, and `exec` lets the stop signal reach the worker.
        assert f'exec {WORKER_COMMAND} --celery-hostname "celery@${{HOSTNAME}}"' in script, name
        assert worker["environment"]["DUMB_INIT_SETSID"] == "0", f"{name}: warm shutdown"
        health = " ".join(worker["healthcheck"]["test"])
        assert f"--app {CELERY_APP} inspect ping" in health and "celery@${HOSTNAME}" in health, name
    # Without the profile, nothing may require the broker.
    for name, service in services.items():
        dependency = depends_on(service).get(broker)
        if dependency is not None and "celery" not in service.get("profiles", []):
            assert dependency == {"condition": "service_healthy", "required": False}, name
    assert depends_on(services[airflow_services["init"]])[broker]["condition"] == "service_healthy"


def test_workers_wait_for_the_broker_the_databases_init_and_the_execution_api(
    services, airflow_services, broker, postgres, mail_catcher
):
    for name in celery_workers(services):
        dependencies = depends_on(services[name])
        assert dependencies[broker] == {"condition": "service_healthy"}, f"{name}: Redis is required"
        assert dependencies[postgres]["condition"] == "service_healthy", name
        assert dependencies[mail_catcher]["condition"] == "service_healthy", name
        assert dependencies[airflow_services["init"]]["condition"] == "service_completed_successfully", name
        assert dependencies[airflow_services["api-server"]]["condition"] == "service_healthy", name


def test_celery_executor_is_one_setting_away_and_reaches_the_broker(
    celery_services, airflow_services, broker, postgres
):
    workers = celery_workers(celery_services)
    concurrency = 0
    for name, service in each_airflow_service(celery_services, airflow_services):
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        url = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (url.scheme, url.hostname, url.port or 6379) == ("redis", broker, 6379), name
        assert 6379 in container_ports(celery_services[broker], "expose")
        # Results go to the metadata database, through the driver the image has (psycopg2).
        backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert backend.scheme == "db+postgresql+psycopg2", name
        assert (backend.netloc, backend.path) == (metadata.netloc, metadata.path), name
        assert backend.hostname == postgres, name
        assert str(env["AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER"]) == "1", name
        if name in workers:
            concurrency += int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    parallelism = int(
        celery_services[airflow_services["scheduler"]]["environment"]["AIRFLOW__CORE__PARALLELISM"]
    )
    assert parallelism >= concurrency, "the scheduler would leave worker slots idle"


def test_processing_fans_out_to_as_many_tasks_as_env_says_in_every_airflow_service(
    raw_compose, env_example, airflow_services
):
    from pressmon.config import Config

    # The DAG reads the count when it is parsed (dag-processor) and each task when it runs (workers).
    services = interpolate_tree(raw_compose, env_example | {"PRESSMON_PROCESS_TASKS": "2"}, set())["services"]
    assert celery_workers(services)
    for name, service in each_airflow_service(services, airflow_services):
        env = {key: str(value) for key, value in service["environment"].items()}
        assert Config.from_env(env).process_tasks == 2, name


def test_airflow_reads_the_celery_settings_as_compose_gives_them(celery_services, tmp_path):
    (name, *_) = celery_workers(celery_services)
    env = {key: str(value) for key, value in celery_services[name]["environment"].items()}
    probe = (
        "import json\n"
        "from airflow.configuration import conf\n"
        "from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG as c\n"
        "from sqlalchemy.engine import make_url\n"
        "print(json.dumps({'executor': conf.get('core', 'executor'), 'broker': c['broker_url'],\n"
        "    'backend': c['result_backend'], 'concurrency': c['worker_concurrency'],\n"
        "    'prefetch': c['worker_prefetch_multiplier'],\n"
        "    'driver': make_url(c['result_backend'][len('db+'):]).get_driver_name()}))\n"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PRESSMON_"))}
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        env=keep | env | {"AIRFLOW_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen == {
        "executor": "CeleryExecutor",
        "broker": env["AIRFLOW__CELERY__BROKER_URL"],
        "backend": env["AIRFLOW__CELERY__RESULT_BACKEND"],
        "concurrency": int(env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]),
        "prefetch": 1,
        "driver": "psycopg2",
    }


@pytest.fixture
def fake_tools(tmp_path: Path) -> Path:
    """A PATH folder whose airflow, python and pressmon print what they were asked and succeed; python fails
    on the broker check when BROKER_DOWN is set."""
    folder = tmp_path / "bin"
    folder.mkdir()
    scripts = {
        "airflow": 'echo "airflow $*"',
        "pressmon": 'echo "pressmon $*"',
        "python": 'cat > /dev/null 2>&1 || true; case "$*" in *redis*) [ -z "${BROKER_DOWN:-}" ] ;; esac',
    }
    for tool, body in scripts.items():
        path = folder / tool
        path.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    return folder


def run_script(service: dict[str, Any], fake_tools: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = service["command"]
    assert command[:2] == ["bash", "-c"]
    return subprocess.run(
        ["bash", "-c", command[2]],
        # The image's ENV, then the service's environment, as in the container.
        env={"PATH": f"{fake_tools}:/usr/bin:/bin", **dockerfile_env(dockerfile_instructions())}
        | {k: str(v) for k, v in service["environment"].items()}
        | env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_worker_refuses_to_start_unless_the_executor_is_celery(services, celery_services, fake_tools):
    (name, *_) = celery_workers(services)
    refused = run_script(services[name], fake_tools, HOSTNAME="airflow-worker-1")
    assert refused.returncode == 1 and "AIRFLOW_EXECUTOR=CeleryExecutor" in refused.stdout
    started = run_script(celery_services[name], fake_tools, HOSTNAME="airflow-worker-1")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "airflow celery worker --celery-hostname celery@airflow-worker-1"


def test_init_refuses_celery_executor_when_the_broker_does_not_answer(
    services, celery_services, airflow_services, fake_tools
):
    init = airflow_services["init"]
    local = run_script(services[init], fake_tools, BROKER_DOWN="1")
    assert local.returncode == 0 and "airflow db migrate" in local.stdout, local.stderr
    celery = run_script(celery_services[init], fake_tools)
    assert celery.returncode == 0 and "airflow db migrate" in celery.stdout, celery.stderr
    refused = run_script(celery_services[init], fake_tools, BROKER_DOWN="1")
    assert refused.returncode == 1 and "airflow db migrate" not in refused.stdout
    assert "COMPOSE_PROFILES=celery" in refused.stdout
    odd = run_script(services[init], fake_tools, AIRFLOW__CORE__EXECUTOR="KubernetesExecutor")
    assert odd.returncode == 1 and "LocalExecutor or CeleryExecutor" in odd.stdout


def test_env_example_says_how_to_switch_to_celery():
    values, comments = read_env_file(ENV_EXAMPLE)
    assert values["AIRFLOW_EXECUTOR"] == "LocalExecutor"
    assert "COMPOSE_PROFILES=celery" in comments["AIRFLOW_EXECUTOR"]
