"""Moving signed changesets between offices: bundles, peers and trust, merge, transports.

Bundles are written by `export` (parts by `parts`, evidence parts by `evidence_parts`'
workers) and read by `importer` (staging, verification, one apply transaction); `peers`,
`cards` and `trust` keep who is who; `redaction` decides what each role may receive. The
signed changesets themselves are made by the one write path in `storage`. Like
`storage`, this package must never import Qt.
"""
