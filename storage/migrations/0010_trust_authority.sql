-- Schema 10: who may revoke, retract and rotate keys (storage.key_trust).
--
-- A revocation takes effect only when signed by the key's own holder, by this office, or
-- by an authority this office named (the tribunal liaison's key, say); anyone else's is an
-- advisory a person confirms or dismisses. An authority (or this office) may retract a
-- revocation. The `revocations` table becomes what the signed key statements mean, derived
-- from all of them (whatever order they arrived in) and recomputed when one arrives; it is
-- recomputed once when this migration has run (storage.workspace.open_workspace).

-- The keys this office named as authorities over revocation. Local, not replicated.
CREATE TABLE trust_authorities (
    origin TEXT PRIMARY KEY,
    office_name TEXT NOT NULL,
    signing_public BLOB NOT NULL,
    encryption_public BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    named_at TEXT NOT NULL
) WITHOUT ROWID;

-- What a person here decided about an advisory revocation (by its op reference): confirmed
-- (our own signed revocation, `our_statement`, now stands beside it) or dismissed.
CREATE TABLE revocation_decisions (
    statement TEXT PRIMARY KEY,
    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'dismissed')),
    our_statement TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL,
    decided_by TEXT NOT NULL
) WITHOUT ROWID;

-- A retraction names the revocation it withdraws by its op reference ("changeset id:index").
ALTER TABLE trust_statements ADD COLUMN retracts TEXT NOT NULL DEFAULT '';

-- Who signed the statement that makes each revocation effective.
ALTER TABLE revocations ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';

-- Key statements quarantined because their signer's key was revoked before them: kept so
-- that a rotation a thief announced with a stolen key still marks the new key as refused
-- (storage.key_trust reads only rotations from here; nothing here is ever applied).
CREATE TABLE quarantined_key_statements (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hlc TEXT NOT NULL,
    body BLOB NOT NULL
) WITHOUT ROWID;
