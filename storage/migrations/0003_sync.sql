-- Schema 3: sealed field values, peers and trust, case sharing, bundles in and out.

-- The values behind sealed (protected or privileged) fields: kept so they can be passed on
-- to the peers allowed to see them. The changeset body holds only their commitments.
CREATE TABLE sealed_values (
    changeset_id TEXT NOT NULL,
    op_index INTEGER NOT NULL,
    field TEXT NOT NULL,
    salt BLOB NOT NULL,
    value TEXT NOT NULL,
    -- The class when the value arrived or was written; only ever made stricter.
    klass TEXT NOT NULL,
    PRIMARY KEY (changeset_id, op_index, field)
) WITHOUT ROWID;

-- Other installations we exchange bundles with, from their contact cards.
CREATE TABLE peers (
    origin TEXT PRIMARY KEY,
    office_name TEXT NOT NULL,
    role TEXT NOT NULL,
    signing_public BLOB NOT NULL,
    encryption_public BLOB NOT NULL,
    card BLOB NOT NULL,
    added_at TEXT NOT NULL,
    verified_at TEXT NOT NULL DEFAULT '',
    -- What the peer told us it holds, as {origin: [[epoch, first, last], ...]}.
    holdings TEXT NOT NULL DEFAULT '{}',
    holdings_at TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE case_shares (
    case_id TEXT NOT NULL,
    peer_origin TEXT NOT NULL,
    shared_at TEXT NOT NULL,
    PRIMARY KEY (case_id, peer_origin)
) WITHOUT ROWID;
CREATE INDEX case_shares_by_peer ON case_shares(peer_origin);

-- Bundles imported (a replay is recognised by its id) and what each brought.
CREATE TABLE bundles_in (
    bundle_id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    created TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    summary TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE bundles_out (
    bundle_id TEXT PRIMARY KEY,
    recipients TEXT NOT NULL,
    created TEXT NOT NULL,
    summary TEXT NOT NULL
) WITHOUT ROWID;

-- Receipts for bundles we imported, signed into the next bundle back to their sender.
CREATE TABLE receipts_due (
    bundle_id TEXT PRIMARY KEY,
    peer_origin TEXT NOT NULL,
    receipt TEXT NOT NULL
) WITHOUT ROWID;

-- Verified changesets that cannot be applied yet: what they build on has not arrived.
CREATE TABLE parked_changesets (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    sig BLOB NOT NULL,
    reveals TEXT NOT NULL,
    needs TEXT NOT NULL,
    reason TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    parked_at TEXT NOT NULL
) WITHOUT ROWID;

-- Changesets refused for good, with the reason (a revoked key, a fork).
CREATE TABLE quarantine (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    body BLOB NOT NULL,
    sig BLOB NOT NULL,
    reason TEXT NOT NULL,
    bundle_id TEXT NOT NULL,
    at TEXT NOT NULL
) WITHOUT ROWID;

-- A conflict is settled by the op that overwrote the value shown for it.
ALTER TABLE conflicts ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
CREATE INDEX changesets_by_origin_case ON changesets(origin, case_id, epoch, seq);
-- The clock and origin of each waiting value, so the shown value can be chosen again when
-- a later op overwrites it (a multi-value register).
ALTER TABLE conflicts ADD COLUMN other_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE conflicts ADD COLUMN other_origin TEXT NOT NULL DEFAULT '';

-- Replicated statements about keys (entity `trust`): revocations and rotations.
CREATE TABLE trust_statements (
    id TEXT PRIMARY KEY,
    statement TEXT NOT NULL,
    subject TEXT NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    after_seq INTEGER NOT NULL DEFAULT 0,
    new_signing_public TEXT NOT NULL DEFAULT '',
    new_encryption_public TEXT NOT NULL DEFAULT '',
    office_name TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE TRIGGER trust_no_update BEFORE UPDATE ON trust_statements
BEGIN SELECT RAISE(ABORT, 'trust statements are append-only'); END;
CREATE TRIGGER trust_no_delete BEFORE DELETE ON trust_statements
BEGIN SELECT RAISE(ABORT, 'trust statements are append-only'); END;

-- What the trust statements mean now: changesets of `origin` after (epoch, after_seq) are
-- not accepted. Derived from trust_statements as they are applied.
CREATE TABLE revocations (
    origin TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL,
    after_seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    statement_id TEXT NOT NULL
) WITHOUT ROWID;
