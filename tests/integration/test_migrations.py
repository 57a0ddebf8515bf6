"""Migrations apply to an empty database, twice without change, and leave analysts a read-only contract."""

from __future__ import annotations

import psycopg2
import pytest

from pressmon.errors import MigrationError
from pressmon.store import as_role, connect, load_migrations, migrate

REQUIRED_TABLES = {
    "sources",
    "crawl_runs",
    "crawl_run_sources",
    "raw_pages",
    "releases",
    "release_versions",
    "clusters",
    "release_lsh_buckets",
    "taxonomies",
    "chains",
    "release_chains",
    "subscriptions",
    "deliveries",
}
REQUIRED_VIEWS = {
    "releases",
    "release_copies",
    "release_chains",
    "release_chains_current",
    "daily_chain_counts",
    "sources",
    "crawl_runs",
    "chain_crosswalk",
    "chains",
    "source_last_crawl",
    "source_health",
}


def test_all_migrations_apply_to_an_empty_database_and_are_recorded(empty_db_url):
    conn = connect(empty_db_url)
    try:
        applied = migrate(conn)
        assert applied == [m.name for m in load_migrations()]
        with conn.cursor() as cur:
            cur.execute("SELECT version FROM pressmon_migrations ORDER BY version")
            assert [row[0] for row in cur.fetchall()] == [m.version for m in load_migrations()]
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            assert {row[0] for row in cur.fetchall()} >= REQUIRED_TABLES
            cur.execute("SELECT viewname FROM pg_views WHERE schemaname = 'reporting'")
            assert {row[0] for row in cur.fetchall()} == REQUIRED_VIEWS
    finally:
        conn.close()


def test_migrate_twice_applies_nothing_the_second_time(empty_db_url):
    conn = connect(empty_db_url)
    try:
        migrate(conn)
        assert migrate(conn) == []
    finally:
        conn.close()


def test_an_applied_migration_that_was_edited_is_refused(empty_db_url, tmp_path):
    for migration in load_migrations():
        (tmp_path / f"{migration.name}.sql").write_text(migration.sql)
    conn = connect(empty_db_url)
    try:
        migrate(conn, tmp_path)
        first = sorted(tmp_path.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match="edited"):
            migrate(conn, tmp_path)
    finally:
        conn.close()


def test_every_reporting_view_and_its_columns_are_documented(db_url):
    conn = connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT c.relname, obj_description(c.oid, 'pg_class')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'reporting' AND c.relkind = 'v'"""
        )
        undocumented = [name for name, comment in cur.fetchall() if not comment]
        assert undocumented == []
        cur.execute(
            """SELECT c.relname || '.' || a.attname
                 FROM pg_attribute a
                 JOIN pg_class c ON c.oid = a.attrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'reporting' AND c.relkind = 'v' AND a.attnum > 0 AND NOT a.attisdropped
                  AND coalesce(col_description(a.attrelid, a.attnum), '') = ''"""
        )
        assert [row[0] for row in cur.fetchall()] == []
        cur.execute(
            """SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'reporting' AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''"""
        )
        assert [row[0] for row in cur.fetchall()] == []
    conn.close()


def test_reporting_releases_has_the_columns_analysts_rely_on(db_url):
    conn = connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM reporting.releases LIMIT 0")
        columns = {d.name for d in cur.description}
    conn.close()
    assert {"url", "source", "title", "published_at", "first_seen_at", "chains", "duplicates"} <= columns


def test_reader_role_reads_reporting_and_cannot_write_or_read_tables(db_url):
    reader = psycopg2.connect(as_role(db_url, "pressmon_reader"))
    reader.autocommit = True
    try:
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM reporting.releases")
            assert cur.fetchone()[0] == 0
            for statement in (
                "SELECT * FROM raw_pages",
                "INSERT INTO sources (code, name, base_url) VALUES ('x', 'x', 'x')",
                "DELETE FROM subscriptions",
                "CREATE TABLE reporting.mine (x int)",
                "CREATE TABLE public.mine (x int)",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
    finally:
        reader.close()


def test_an_installation_without_migrations_fails_loudly(tmp_path):
    with pytest.raises(MigrationError, match="no migrations found"):
        load_migrations(tmp_path)


def test_the_reader_can_call_search_which_is_stable_and_runs_with_the_callers_rights(db_url):
    conn = connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT p.proname, p.provolatile, p.prosecdef FROM pg_proc p
                 JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'reporting'"""
        )
        functions = {name: (volatility, definer) for name, volatility, definer in cur.fetchall()}
    conn.close()
    assert functions["search"] == ("s", False)
    assert all(not definer and volatility in "is" for volatility, definer in functions.values())
    reader = psycopg2.connect(as_role(db_url, "pressmon_reader"))
    try:
        with reader.cursor() as cur:
            for name in functions:
                cur.execute(
                    "SELECT has_function_privilege(%s, oid, 'EXECUTE') FROM pg_proc WHERE proname = %s "
                    "AND pronamespace = 'reporting'::regnamespace",
                    ("pressmon_reader", name),
                )
                assert cur.fetchone()[0], name
            cur.execute("SELECT count(*) FROM reporting.search('机器人')")
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT count(*) FROM reporting.source_last_crawl")
            cur.execute("SELECT count(*) FROM reporting.chains")
    finally:
        reader.close()


def test_a_migration_that_fails_is_named_in_one_line(empty_db_url, tmp_path):
    (tmp_path / "0001_fine.sql").write_text("CREATE TABLE fine (id integer PRIMARY KEY);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE broken (id integer REFERENCES nowhere (id));")
    conn = connect(empty_db_url)
    try:
        with pytest.raises(MigrationError, match=r"^migration 0002_broken failed: .*nowhere") as caught:
            migrate(conn, tmp_path)
        assert "\n" not in str(caught.value)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT name FROM pressmon_migrations")
            assert [row[0] for row in cur.fetchall()] == ["0001_fine"]
    finally:
        conn.close()


def test_an_archive_migrated_to_canonical_only_search_indexes_is_still_found_by_its_canonical_copies(
    empty_db_url, tmp_path
):
    # 0014 flags each cluster's canonical copy and makes the search indexes hold only those: an archive
    # stored before it must come out with the flags set and every release still found by search.
    conn = _migrated_before(14, empty_db_url, tmp_path)
    try:
        with conn, conn.cursor() as cur:
            _add_source(cur)
            cur.execute("INSERT INTO clusters (id) SELECT n FROM generate_series(1, 3) AS n")
            # Two copies of each release; the second is the canonical one, and only it mentions 灯塔.
            cur.execute(
                """INSERT INTO releases (id, source, canonical_url, url, title, body, content_hash, minhash,
                                         cluster_id)
                   SELECT n, 's', 'https://s.example/' || n, 'https://s.example/' || n, '第' || n || '号',
                          '正文' || CASE WHEN n % 2 = 0 THEN '灯塔' ELSE '' END, decode(md5(n::text), 'hex'),
                          '\\x00', (n + 1) / 2
                     FROM generate_series(1, 6) AS n"""
            )
            cur.execute("UPDATE clusters SET canonical_release_id = 2 * id")
        assert migrate(conn)[0].startswith("0014")
        with conn, conn.cursor() as cur:
            cur.execute("SELECT id FROM releases WHERE is_canonical ORDER BY id")
            assert [row[0] for row in cur.fetchall()] == [2, 4, 6]
            cur.execute("SELECT cluster_id FROM reporting.search('灯塔', NULL) ORDER BY cluster_id")
            assert [row[0] for row in cur.fetchall()] == [1, 2, 3]
    finally:
        conn.close()


def _migrated_before(version: int, empty_db_url: str, tmp_path) -> psycopg2.extensions.connection:
    """A connection to a database migrated up to (not including) `version`."""
    for migration in load_migrations():
        if migration.version < version:
            (tmp_path / f"{migration.name}.sql").write_text(migration.sql)
    conn = connect(empty_db_url)
    migrate(conn, tmp_path)
    return conn


def _add_source(cur) -> None:
    cur.execute("INSERT INTO sources (code, name, base_url) VALUES ('s', '测试', 'https://s.example/')")


def _add_release_with_bands(cur, release_id: int, bands: list[tuple[int, int]]) -> None:
    cur.execute(
        """INSERT INTO releases (id, source, canonical_url, url, title, body, content_hash, minhash, cluster_id)
           VALUES (%(id)s, 's', 'https://s.example/' || %(id)s, 'https://s.example/' || %(id)s, 't', 'b',
                   decode(md5(%(id)s::text), 'hex'), '\\x00', 1)""",
        {"id": release_id},
    )
    for band, bucket in bands:
        cur.execute(
            "INSERT INTO release_lsh_bands (band, bucket, release_id) VALUES (%s, %s, %s)",
            (band, bucket, release_id),
        )


def test_an_archive_migrated_to_one_bucket_array_per_copy_keeps_each_copys_buckets_in_band_order(
    empty_db_url, tmp_path
):
    # 0016 turns each copy's 32 band rows into one array, where position i is band i's bucket: the order the
    # rows were written in must not matter, and the rows' table is gone.
    conn = _migrated_before(16, empty_db_url, tmp_path)
    first = [(-1) ** band * (1000 + band) for band in range(32)]
    second = [7 * band - 50 for band in range(32)]
    try:
        with conn, conn.cursor() as cur:
            _add_source(cur)
            cur.execute("INSERT INTO clusters (id) VALUES (1)")
            _add_release_with_bands(cur, 1, [(band, first[band]) for band in reversed(range(32))])
            _add_release_with_bands(
                cur, 2, [(band, second[band]) for band in (*range(1, 32, 2), *range(0, 32, 2))]
            )
        assert migrate(conn)[0].startswith("0016")
        with conn, conn.cursor() as cur:
            cur.execute("SELECT release_id, buckets FROM release_lsh_buckets ORDER BY release_id")
            assert cur.fetchall() == [(1, first), (2, second)]
            cur.execute("SELECT to_regclass('release_lsh_bands')")
            assert cur.fetchone() == (None,)
    finally:
        conn.close()


def test_an_archive_whose_bands_have_a_gap_is_named_not_converted(empty_db_url, tmp_path):
    conn = _migrated_before(16, empty_db_url, tmp_path)
    try:
        with conn, conn.cursor() as cur:
            _add_source(cur)
            cur.execute("INSERT INTO clusters (id) VALUES (1)")
            _add_release_with_bands(cur, 1, [(band, band) for band in range(32)])
            _add_release_with_bands(cur, 2, [(band, band) for band in range(32) if band != 5])
        with pytest.raises(MigrationError, match=r"^migration 0016_\w+ failed: .*release 2 has LSH bands"):
            migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM release_lsh_bands")
            assert cur.fetchone() == (63,)
    finally:
        conn.close()
