#!/usr/bin/env bash
# Creates the two databases of the stack on one Postgres server, each owned by its own login role:
#   - PRESSMON_DB_NAME (owner PRESSMON_DB_USER): releases, alerts, the reporting views. The role needs
#     CREATEROLE because migration sql/0003_reader_role.sql creates the analysts' role pressmon_reader.
#   - AIRFLOW_DB_NAME (owner AIRFLOW_DB_USER): Airflow's metadata database.
#
# The postgres image runs files in /docker-entrypoint-initdb.d only when it starts on an EMPTY data volume.
# After changing names or passwords in .env, either change them in the server too (ALTER ROLE ... PASSWORD)
# or start over with `docker compose down -v` (which deletes all data).
#
# Values reach SQL as psql variables (:'x' quotes a literal, :"x" an identifier), never pasted into the text,
# so passwords may hold quotes. Re-running the script is harmless: it only creates what is missing.
set -euo pipefail

: "${PRESSMON_DB_USER:?PRESSMON_DB_USER is not set}"
: "${PRESSMON_DB_PASSWORD:?PRESSMON_DB_PASSWORD is not set}"
: "${PRESSMON_DB_NAME:?PRESSMON_DB_NAME is not set}"
: "${AIRFLOW_DB_USER:?AIRFLOW_DB_USER is not set}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
: "${AIRFLOW_DB_NAME:?AIRFLOW_DB_NAME is not set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v pressmon_user="$PRESSMON_DB_USER" \
    -v pressmon_password="$PRESSMON_DB_PASSWORD" \
    -v pressmon_db="$PRESSMON_DB_NAME" \
    -v airflow_user="$AIRFLOW_DB_USER" \
    -v airflow_password="$AIRFLOW_DB_PASSWORD" \
    -v airflow_db="$AIRFLOW_DB_NAME" <<'EOSQL'
-- pressmon: the application's role and database.
SELECT format('CREATE ROLE %I LOGIN CREATEROLE PASSWORD %L', :'pressmon_user', :'pressmon_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'pressmon_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'pressmon_db', :'pressmon_user', 'UTF8')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'pressmon_db') \gexec
COMMENT ON DATABASE :"pressmon_db" IS 'pressmon: press releases, clusters, chains, alerts; reporting.* for analysts';

-- Airflow: the metadata database. Only its owner may connect (it holds connections and variables).
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'airflow_user', :'airflow_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'airflow_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'airflow_db', :'airflow_user', 'UTF8')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'airflow_db') \gexec
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
COMMENT ON DATABASE :"airflow_db" IS 'Airflow metadata database of the pressmon stack';
EOSQL

echo "01-databases.sh: databases ${PRESSMON_DB_NAME} (owner ${PRESSMON_DB_USER}) and ${AIRFLOW_DB_NAME} (owner ${AIRFLOW_DB_USER}) are ready"
