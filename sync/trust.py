"""Revoking a peer's key and replacing our own: statements that travel like any change.

`revoke` (a lost or stolen laptop): changesets signed by the peer's key after a sequence
number are quarantined everywhere the statement arrives. `rotate`: a new key pair replaces
ours; the statement naming the new keys is signed with the old key, the old key is retired
after it, and every bundle we write afterwards carries an endorsement (the new public keys
signed with the old key) so peers that have not yet applied the statement still recognise
us.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage import audit
from storage.identity import NodeKeys, generate, origin_of
from storage.workspace import Draft, Workspace, new_id
from sync.peers import Peer, peer_by_origin

ENDORSEMENT_DOMAIN = b"valise/key-rotation/v1\n"
ENDORSEMENT_META = "rotation_endorsement"
RETIRED_KEYS_META = "retired_bundle_keys"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def last_seq_of(ws: Workspace, origin: str) -> tuple[int, int]:
    """(epoch, seq) of the newest changeset we hold from `origin`, (0, 0) if none."""
    row = ws.conn.execute(
        "SELECT epoch, seq FROM changesets WHERE origin = ? ORDER BY epoch DESC, seq DESC LIMIT 1",
        (origin,),
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def revoke_peer(ws: Workspace, peer: Peer, after_seq: int, reason: str = "") -> str:
    """Revoke `peer`'s key after its changeset `after_seq` (of its newest epoch we know);
    the statement goes to every peer in the next bundles."""
    epoch, _ = last_seq_of(ws, peer.origin)
    statement = {
        "statement": "revoke",
        "subject": peer.origin,
        "epoch": epoch,
        "after_seq": after_seq,
        "office_name": peer.office_name,
        "reason": reason or "key revoked (lost or compromised device)",
        "at": _now(),
    }
    return ws.commit(
        "", [Draft("trust", new_id(), "create", statement)], audit_action="key revoked"
    )


def endorsement_bytes(new_keys: NodeKeys) -> bytes:
    """What the old key signs to vouch for the new keys."""
    return ENDORSEMENT_DOMAIN + new_keys.signing_public + new_keys.encryption_public


def rotate_identity(ws: Workspace) -> str:
    """Replace this installation's keys. Returns the new fingerprint."""
    old_origin, old_public = ws.origin, ws.keys.signing_public
    new_keys = generate()
    with ws.transaction() as conn:
        next_seq = 1 + int(
            conn.execute(
                "SELECT coalesce(max(seq), 0) FROM changesets WHERE origin = ? AND epoch = ?",
                (old_origin, ws.epoch),
            ).fetchone()[0]
        )
        statement = {
            "statement": "rotate",
            "subject": old_origin,
            "epoch": ws.epoch,
            "after_seq": next_seq,  # the statement itself is the old key's last changeset
            "new_signing_public": new_keys.signing_public.hex(),
            "new_encryption_public": new_keys.encryption_public.hex(),
            "office_name": ws.office_name,
            "reason": "key replaced",
            "at": _now(),
        }
        ws.commit("", [Draft("trust", new_id(), "create", statement)], audit_action="key rotated")
        signature = ws.keys.signer().sign(endorsement_bytes(new_keys))
        endorsement = {
            "old_origin": old_origin,
            "old_signing_public": old_public.hex(),
            "signature": signature.hex(),
        }
        ws.set_meta(ENDORSEMENT_META, json.dumps(endorsement))
        retired = [[o, k.hex()] for o, k in our_keys(ws)]
        ws.set_meta(RETIRED_KEYS_META, json.dumps(retired))
        ws.replace_keys(new_keys)
        audit.append(
            conn, ws.author, "identity rotated", old_origin[:16], {"new_origin": new_keys.origin}
        )
    return ws.fingerprint


def our_keys(ws: Workspace) -> list[tuple[str, bytes]]:
    """(origin, X25519 private key) of this installation: the current one first, then the
    ones replaced by rotations, which still open bundles written before peers knew."""
    retired = json.loads(ws.meta(RETIRED_KEYS_META, "[]"))
    keys = [(ws.origin, ws.keys.encryption_private)]
    keys.extend((str(origin), bytes.fromhex(hex_key)) for origin, hex_key in retired)
    return keys


def own_endorsement(ws: Workspace) -> dict[str, Any]:
    """The endorsement our bundles carry after a rotation (empty before any)."""
    text = ws.meta(ENDORSEMENT_META, "")
    return dict(json.loads(text)) if text else {}


def endorsed_peer(
    ws: Workspace, sender: dict[str, Any], endorsement: dict[str, Any]
) -> Peer | None:
    """The peer a bundle from unknown keys really comes from, when its old key (one of our
    peers) signed the new keys; None when the endorsement does not hold."""
    if not endorsement:
        return None
    old = peer_by_origin(ws, str(endorsement.get("old_origin", "")))
    if old is None or old.signing_public.hex() != endorsement.get("old_signing_public"):
        return None
    new_signing = bytes.fromhex(sender["signing_public"])
    new_encryption = bytes.fromhex(sender["encryption_public"])
    try:
        Ed25519PublicKey.from_public_bytes(old.signing_public).verify(
            bytes.fromhex(str(endorsement.get("signature", ""))),
            ENDORSEMENT_DOMAIN + new_signing + new_encryption,
        )
    except (InvalidSignature, ValueError):
        return None
    return Peer(
        peer_id=origin_of(new_signing)[:16],
        origin=origin_of(new_signing),
        office_name=str(sender["office_name"]),
        role=old.role,
        signing_public=new_signing,
        encryption_public=new_encryption,
        added_at=_now(),
        verified_at=old.verified_at,
    )


def adopt_rotated_peer(ws: Workspace, old_origin: str, new: Peer) -> None:
    """Record a peer's new keys in place of its old ones (inside the caller's transaction):
    same role, same verification, same shared cases, same holdings."""
    conn = ws.conn
    old = conn.execute(
        "SELECT role, verified_at, holdings, holdings_at, card FROM peers WHERE origin = ?",
        (old_origin,),
    ).fetchone()
    if (
        old is None
        or conn.execute("SELECT 1 FROM peers WHERE origin = ?", (new.origin,)).fetchone()
    ):
        return
    conn.execute(
        "INSERT INTO peers(origin, office_name, role, signing_public, encryption_public,"
        " card, added_at, verified_at, holdings, holdings_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            new.origin,
            new.office_name,
            old[0],
            new.signing_public,
            new.encryption_public,
            old[4],
            _now(),
            old[1],
            old[2],
            old[3],
        ),
    )
    conn.execute(
        "INSERT OR IGNORE INTO case_shares(case_id, peer_origin, shared_at)"
        " SELECT case_id, ?, shared_at FROM case_shares WHERE peer_origin = ?",
        (new.origin, old_origin),
    )
    conn.execute("DELETE FROM case_shares WHERE peer_origin = ?", (old_origin,))
    audit.append(conn, ws.author, "peer key replaced", new.peer_id, {"old": old_origin[:16]})
