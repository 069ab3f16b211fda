"""Moving signed changesets between offices: bundles, peers and trust, merge, transports.

Nothing lives here yet: the signed changesets it will carry are made by the one write path
in `storage` (storage/workspace.py, storage/apply.py). Bundles, peers and merge come with
the sync issue. Like `storage`, this package must never import Qt.
"""
