-- Valise schema 1: workspace metadata, node identity, signed history, domain tables,
-- evidence blobs, custody, audit chain and full-text search.

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE node_identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    signing_private BLOB NOT NULL,
    signing_public BLOB NOT NULL,
    encryption_private BLOB NOT NULL,
    encryption_public BLOB NOT NULL,
    origin TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Public keys of every origin whose changesets we hold (ourselves first; peers in sync).
CREATE TABLE origins (
    origin TEXT PRIMARY KEY,
    signing_public BLOB NOT NULL,
    office_name TEXT NOT NULL
) WITHOUT ROWID;

-- The history: exact signed bytes, never re-encoded.
CREATE TABLE changesets (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL REFERENCES origins(origin),
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hlc TEXT NOT NULL,
    author TEXT NOT NULL,
    case_id TEXT NOT NULL,
    body BLOB NOT NULL,
    sig BLOB NOT NULL,
    applied_at TEXT NOT NULL,
    UNIQUE (origin, epoch, seq)
);
CREATE INDEX changesets_by_case ON changesets(case_id, hlc);
CREATE INDEX changesets_by_hlc ON changesets(hlc);

-- Which op last set each field, and each op's predecessor, for concurrency detection.
CREATE TABLE field_state (
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    op_ref TEXT NOT NULL,
    hlc TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, field)
) WITHOUT ROWID;

CREATE TABLE field_history (
    op_ref TEXT NOT NULL,
    field TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    prev_ref TEXT,
    PRIMARY KEY (op_ref, field)
) WITHOUT ROWID;

CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    shown_op TEXT NOT NULL,
    shown_value TEXT,
    other_op TEXT NOT NULL,
    other_value TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_hlc TEXT NOT NULL
);
CREATE INDEX conflicts_open ON conflicts(status, case_id);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    categories TEXT NOT NULL DEFAULT '',
    jurisdiction TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    opened_on TEXT NOT NULL DEFAULT '',
    lead_office TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX cases_by_reference ON cases(reference);
CREATE INDEX cases_by_updated ON cases(updated_hlc);

CREATE TABLE persons (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    role TEXT NOT NULL,
    pseudonym TEXT NOT NULL DEFAULT '',
    protection TEXT NOT NULL DEFAULT 'none',
    languages TEXT NOT NULL DEFAULT '',
    consent TEXT NOT NULL DEFAULT '',
    legal_name TEXT NOT NULL DEFAULT '',
    aliases TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    contact TEXT NOT NULL DEFAULT '',
    home_location TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX persons_by_case ON persons(case_id);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    date_from TEXT NOT NULL DEFAULT '',
    date_to TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    coordinates TEXT NOT NULL DEFAULT '',
    act_types TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX incidents_by_case ON incidents(case_id, date_from);

CREATE TABLE elements (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    charge TEXT NOT NULL DEFAULT '',
    article TEXT NOT NULL DEFAULT '',
    element TEXT NOT NULL DEFAULT '',
    mode_of_liability TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX elements_by_case ON elements(case_id);

CREATE TABLE evidence (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    ern TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'document',
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT '',
    collected_at TEXT NOT NULL DEFAULT '',
    collected_by TEXT NOT NULL DEFAULT '',
    collection_method TEXT NOT NULL DEFAULT '',
    collection_location TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    original_name TEXT NOT NULL DEFAULT '',
    media_type TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    classification TEXT NOT NULL DEFAULT 'confidential',
    sensitivity TEXT NOT NULL DEFAULT '',
    custody_status TEXT NOT NULL DEFAULT 'in custody',
    current_holder TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX evidence_by_case ON evidence(case_id, ern);
CREATE INDEX evidence_by_sha ON evidence(sha256);

CREATE TABLE links (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    strength TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX links_by_case ON links(case_id);
CREATE INDEX links_by_evidence ON links(evidence_id);
CREATE INDEX links_by_target ON links(target_id);

CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    subject_id TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    class TEXT NOT NULL DEFAULT 'open',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX notes_by_case ON notes(case_id);

-- Append-only: no update or delete path exists in code, and triggers refuse both.
CREATE TABLE custody_events (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT '',
    office TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    from_holder TEXT NOT NULL DEFAULT '',
    to_holder TEXT NOT NULL DEFAULT '',
    medium TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    hash_seen TEXT NOT NULL DEFAULT '',
    hash_expected TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '',
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX custody_by_evidence ON custody_events(evidence_id, created_hlc);
CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody_events
BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;
CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody_events
BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;

-- Encrypted evidence files beside the database, one per distinct content.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    store_name TEXT NOT NULL UNIQUE,
    blob_key BLOB NOT NULL,
    stored_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;

-- Full-text search: one row per searchable record; rowid maps to search_docs.
CREATE TABLE search_docs (
    rowid INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL
);
CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);
