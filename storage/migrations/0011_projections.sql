-- Schema 11: what this office projected to each restricted peer (ngo, defence).
--
-- A restricted peer never receives our raw history. It receives a projection: changesets
-- signed by this office, origin = this office, in an epoch reserved for that peer, that
-- carry only what it may see now (sync.projection). They are kept here, never in
-- `changesets`: this office never applies them itself and never sends them to anyone else.

-- One stream per peer and epoch. A stream is written in the epoch it started under; when
-- this office moves to a new epoch (a restore), the next projection starts a new stream.
CREATE TABLE projection_streams (
    peer_origin TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    -- our own epoch when the stream started
    base_epoch INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    PRIMARY KEY (peer_origin, epoch)
) WITHOUT ROWID;
CREATE UNIQUE INDEX projection_streams_by_epoch ON projection_streams(epoch);

-- The projection changesets, exactly as signed, with the sidecar they travel with.
CREATE TABLE projection_changesets (
    id TEXT PRIMARY KEY,
    peer_origin TEXT NOT NULL,
    -- the key that signed it (ours then: a rotation changes it)
    origin TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    case_id TEXT NOT NULL,
    -- the previous projection changeset of this stream about the same case ('' for none)
    case_prev TEXT NOT NULL,
    body BLOB NOT NULL,
    sig BLOB NOT NULL,
    written_at TEXT NOT NULL,
    UNIQUE (peer_origin, epoch, seq)
);
CREATE INDEX projection_changesets_by_case ON projection_changesets(peer_origin, case_id, epoch, seq);

-- Per peer and record, what was projected of each field: a digest of the value and the op
-- that set it (the next update names it in `prev`). Field '*' is the record's creating op.
CREATE TABLE projected_fields (
    peer_origin TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field TEXT NOT NULL,
    case_id TEXT NOT NULL,
    value_digest TEXT NOT NULL,
    op_ref TEXT NOT NULL,
    PRIMARY KEY (peer_origin, entity, entity_id, field)
) WITHOUT ROWID;
CREATE INDEX projected_fields_by_case ON projected_fields(peer_origin, case_id, field);
