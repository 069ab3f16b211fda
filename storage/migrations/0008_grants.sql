-- Schema 8: who may do what in a case. A grant is a signed op in the case's own history
-- (entity `grant`) naming a peer origin, its keys, its office name and the role it is
-- granted in this case; an ungrant names the grantee's (epoch, seq) after which its changes
-- in this case are no longer accepted. Append-only, like custody.
CREATE TABLE case_grants (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    grantee TEXT NOT NULL,
    signing_public TEXT NOT NULL DEFAULT '',
    encryption_public TEXT NOT NULL DEFAULT '',
    office_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    epoch INTEGER NOT NULL DEFAULT 0,
    after_seq INTEGER NOT NULL DEFAULT 0,
    at TEXT NOT NULL,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX case_grants_by_case ON case_grants(case_id, grantee, created_hlc);
CREATE INDEX case_grants_by_grantee ON case_grants(grantee);
CREATE TRIGGER grants_no_update BEFORE UPDATE ON case_grants
BEGIN SELECT RAISE(ABORT, 'grants are append-only'); END;
CREATE TRIGGER grants_no_delete BEFORE DELETE ON case_grants
BEGIN SELECT RAISE(ABORT, 'grants are append-only'); END;

-- Shares made before grants existed are written as grants once, at the first unlock after
-- this migration (sync.peers.grant_shares_made_before_grants): a workspace created now has
-- none, and says so.
INSERT INTO meta(key, value) SELECT 'shares_before_grants', 'pending'
    WHERE EXISTS (SELECT 1 FROM case_shares);

-- Why a changeset was held back by the authority rules (sync.authority): 'no grant' (its
-- signer holds no grant in the case) or 'not permitted' (its role does not allow it). Both
-- are offered again on every import and after a local share, and applied once a grant
-- arriving later makes them valid. '' marks a refusal for good (a revoked key, a fork, an
-- invalid op).
ALTER TABLE quarantine ADD COLUMN held_for TEXT NOT NULL DEFAULT '';
-- The sealed values that came with a held-back changeset (as in parked_changesets), so that
-- applying it later loses none of them.
ALTER TABLE quarantine ADD COLUMN reveals TEXT NOT NULL DEFAULT '[]';
CREATE INDEX quarantine_held ON quarantine(held_for) WHERE held_for != '';
