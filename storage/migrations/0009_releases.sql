-- Schema 9: releases of evidence to restricted peers, and consent per person and audience.

-- A release (entity `release`): an evidence item may go to one peer (grantee_origin) or to
-- every peer of a role (grantee_origin empty), with or without its original file name.
-- Withdrawing one stops future sends; what was sent stays sent.
CREATE TABLE evidence_releases (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    evidence_id TEXT NOT NULL REFERENCES evidence(id),
    grantee_origin TEXT NOT NULL DEFAULT '',
    grantee_role TEXT NOT NULL,
    grantee_name TEXT NOT NULL DEFAULT '',
    with_file_name INTEGER NOT NULL DEFAULT 0,
    at TEXT NOT NULL,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX evidence_releases_by_case ON evidence_releases(case_id, grantee_role, grantee_origin);
CREATE INDEX evidence_releases_by_evidence ON evidence_releases(evidence_id);
CREATE TRIGGER evidence_releases_no_delete BEFORE DELETE ON evidence_releases
BEGIN SELECT RAISE(ABORT, 'releases are withdrawn, never deleted'); END;

-- A consent statement (entity `consent`): a person's decision for one audience, with when
-- and who recorded it. Append-only: the latest statement per person and audience stands.
CREATE TABLE person_consents (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    person_id TEXT NOT NULL REFERENCES persons(id),
    audience TEXT NOT NULL,
    decision TEXT NOT NULL,
    decided_on TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_hlc TEXT NOT NULL,
    updated_hlc TEXT NOT NULL
);
CREATE INDEX person_consents_by_person ON person_consents(person_id, audience, created_hlc);
CREATE TRIGGER person_consents_no_update BEFORE UPDATE ON person_consents
BEGIN SELECT RAISE(ABORT, 'consent statements are append-only'); END;
CREATE TRIGGER person_consents_no_delete BEFORE DELETE ON person_consents
BEGIN SELECT RAISE(ABORT, 'consent statements are append-only'); END;
