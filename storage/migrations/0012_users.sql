-- Schema 12: named users of this office, each with a role (storage.users, storage.roles).

-- A user unlocks with a passphrase slot of their own in the key file (storage.keyfile's
-- user slots, found by `slot_tag`); the row says who they are and what they may do here.
-- A removed user keeps the row, so history and the audit log still name them; their slot
-- is gone from the key file and an unlock through a left-over slot is refused.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,               -- the name casefolded: one user per spelling
    role TEXT NOT NULL CHECK (role IN ('investigator', 'protection-officer', 'supervisor', 'it')),
    slot_tag TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    removed_at TEXT NOT NULL DEFAULT '',
    removed_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX users_by_name ON users(name_key) WHERE removed_at = '';
CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'users are removed, never deleted'); END;
