-- Core tables: what was crawled, what it became, who is told about it.

CREATE TABLE sources (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    base_url    text NOT NULL,
    -- Higher is more official; the canonical release of a cluster comes from the most official source.
    authority   smallint NOT NULL DEFAULT 50,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crawl_runs (
    id           bigserial PRIMARY KEY,
    run_key      text NOT NULL UNIQUE,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    summary      jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE crawl_run_sources (
    run_id        bigint NOT NULL REFERENCES crawl_runs ON DELETE CASCADE,
    source        text NOT NULL REFERENCES sources,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed')),
    list_pages    integer NOT NULL DEFAULT 0,
    detail_pages  integer NOT NULL DEFAULT 0,
    errors        jsonb NOT NULL DEFAULT '[]',
    stats         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, source)
);

CREATE TABLE raw_pages (
    id             bigserial PRIMARY KEY,
    source         text NOT NULL REFERENCES sources,
    run_id         bigint REFERENCES crawl_runs ON DELETE SET NULL,
    kind           text NOT NULL CHECK (kind IN ('list', 'detail')),
    url            text NOT NULL,
    final_url      text NOT NULL,
    canonical_url  text NOT NULL,
    status         integer NOT NULL,
    headers        jsonb NOT NULL DEFAULT '{}',
    body           bytea NOT NULL,
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    process_state  text NOT NULL DEFAULT 'pending'
                   CHECK (process_state IN ('pending', 'done', 'failed', 'skipped')),
    processed_at   timestamptz,
    process_error  text
);
CREATE INDEX raw_pages_source_canonical ON raw_pages (source, canonical_url);
CREATE INDEX raw_pages_pending ON raw_pages (id) WHERE process_state = 'pending';

CREATE TABLE clusters (
    id                    bigserial PRIMARY KEY,
    canonical_release_id  bigint,
    first_seen_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE releases (
    id             bigserial PRIMARY KEY,
    source         text NOT NULL REFERENCES sources,
    canonical_url  text NOT NULL UNIQUE,
    url            text NOT NULL,
    title          text NOT NULL,
    published_at   date,
    publisher      text,
    body           text NOT NULL,
    speakers       jsonb NOT NULL DEFAULT '[]',
    attachments    jsonb NOT NULL DEFAULT '[]',
    content_hash   bytea NOT NULL,
    minhash        bytea NOT NULL,
    search_tokens  tsvector,
    cluster_id     bigint NOT NULL REFERENCES clusters,
    version        integer NOT NULL DEFAULT 1,
    raw_page_id    bigint REFERENCES raw_pages ON DELETE SET NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX releases_content_hash ON releases (content_hash);
CREATE INDEX releases_cluster ON releases (cluster_id);
CREATE INDEX releases_published ON releases (published_at);
CREATE INDEX releases_search ON releases USING gin (search_tokens);

ALTER TABLE clusters
    ADD CONSTRAINT clusters_canonical_release_fk
    FOREIGN KEY (canonical_release_id) REFERENCES releases DEFERRABLE INITIALLY DEFERRED;

-- Earlier texts of a release whose page changed under the same URL.
CREATE TABLE release_versions (
    release_id    bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    version       integer NOT NULL,
    title         text NOT NULL,
    body          text NOT NULL,
    content_hash  bytea NOT NULL,
    raw_page_id   bigint REFERENCES raw_pages ON DELETE SET NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (release_id, version)
);

-- Locality-sensitive hashing: releases sharing a (band, bucket) are near-duplicate candidates.
CREATE TABLE release_lsh_bands (
    band        smallint NOT NULL,
    bucket      bigint NOT NULL,
    release_id  bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    PRIMARY KEY (band, bucket, release_id)
);
CREATE INDEX release_lsh_bands_release ON release_lsh_bands (release_id);

CREATE TABLE taxonomies (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    version     text NOT NULL,
    status      text NOT NULL,
    complete    boolean NOT NULL,
    is_current  boolean NOT NULL DEFAULT false,
    sha256      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX taxonomies_one_current ON taxonomies (is_current) WHERE is_current;

CREATE TABLE chains (
    id          serial PRIMARY KEY,
    taxonomy    text NOT NULL REFERENCES taxonomies ON DELETE CASCADE,
    name        text NOT NULL,
    group_name  text NOT NULL,
    UNIQUE (taxonomy, name)
);

CREATE TABLE release_chains (
    release_id  bigint NOT NULL REFERENCES releases ON DELETE CASCADE,
    chain_id    integer NOT NULL REFERENCES chains ON DELETE CASCADE,
    score       real NOT NULL CHECK (score >= 0 AND score <= 1),
    evidence    jsonb NOT NULL,
    tagged_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (release_id, chain_id)
);
CREATE INDEX release_chains_chain ON release_chains (chain_id);

CREATE TABLE subscriptions (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    chains      text[] NOT NULL DEFAULT '{}',
    sources     text[] NOT NULL DEFAULT '{}',
    keywords    text[] NOT NULL DEFAULT '{}',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Clusters first seen up to this moment have been considered for this subscription.
    scanned_through  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (email, chains, sources, keywords)
);

CREATE TABLE deliveries (
    subscription_id  bigint NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    cluster_id       bigint NOT NULL REFERENCES clusters ON DELETE CASCADE,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    message_id       text,
    PRIMARY KEY (subscription_id, cluster_id)
);
CREATE INDEX deliveries_pending ON deliveries (subscription_id) WHERE status = 'pending';
