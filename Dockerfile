# pressmon on Airflow: the official Airflow image with the pressmon project installed into it.
# One image for every Airflow service in docker-compose.yml (api-server, scheduler, dag-processor, triggerer,
# airflow-init, and the Celery workers of the `celery` profile). Build with `docker compose build`.
#
# The tag must equal the apache-airflow pin in constraints.txt (tests/compose checks it): the constraints file
# is what the test suite ran against, and pip must not move Airflow away from the version in the image.
FROM apache/airflow:3.3.2-python3.11

# The project lives outside AIRFLOW_HOME (/opt/airflow) so that nothing mounted there can hide it, and the DAGs
# folder is the project's own dags/ folder: the DAG in the image is always the code it was built with.
ENV PRESSMON_HOME=/opt/pressmon \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/pressmon/dags

# Only root may create folders under /opt; everything else happens as the image's airflow user (UID 50000,
# group 0, as the image's docs ask, so the container also runs under an arbitrary UID with group 0).
USER root
RUN install -d -o airflow -g 0 -m 775 /opt/pressmon
# The weekly report's charts draw Chinese labels: a CJK font from Debian (matplotlib finds it on its own).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

# Copied path by path rather than `COPY . ...`: the checkout also holds .venv/, var/ (embedded Postgres data,
# outbox) and .git/, none of which belong in the image. README* is optional (pyproject names it as the readme).
COPY --chown=airflow:0 pyproject.toml constraints.txt scrapy.cfg README* /opt/pressmon/
COPY --chown=airflow:0 pressmon /opt/pressmon/pressmon
COPY --chown=airflow:0 parsers /opt/pressmon/parsers
COPY --chown=airflow:0 crawlers /opt/pressmon/crawlers
COPY --chown=airflow:0 sql /opt/pressmon/sql
COPY --chown=airflow:0 dags /opt/pressmon/dags

# Installed editable, on purpose: at run time pressmon finds sql/ (migrations), scrapy.cfg (each crawl is a
# `python -m scrapy crawl` subprocess started in the project folder) and dags/ next to its packages; a plain
# wheel install would leave them behind. "apache-airflow==$AIRFLOW_VERSION" is the image's documented guard
# against pip replacing the Airflow it ships; the constraints file pins everything else to the tested versions.
# The extra `celery` pins the Celery provider (and celery, kombu, redis) the image already ships to the
# versions `make scale-check` ran, so the same image serves LocalExecutor and CeleryExecutor alike.
RUN pip install --no-cache-dir -c /opt/pressmon/constraints.txt \
        "apache-airflow==${AIRFLOW_VERSION}" -e "/opt/pressmon[celery]" \
    && python -c "import pressmon.steps, parsers.release, crawlers.settings, scrapy, jieba" \
    && python -c "from airflow.providers.celery.executors.celery_executor import CeleryExecutor" \
    && python -c "from pressmon.weekly import cjk_font; print('charts draw Chinese with', cjk_font())" \
    && pressmon --help > /dev/null

# Named volumes mounted here (see docker-compose.yml) start with this ownership.
RUN mkdir -p /opt/airflow/logs /opt/airflow/auth
