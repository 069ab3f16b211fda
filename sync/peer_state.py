"""What a peer's state allows: a revoked key receives nothing, and a peer on probation
neither sends nor receives until a person compares its fingerprint.

A card proves nothing by itself (anyone can make one naming any office), so a peer whose
fingerprint was never compared (`verified_at` empty) is on *probation*: its bundles are
kept unread in the workspace (sync.parked_bundles) with a sentence saying how to verify
it, and no bundle is written for it. Once a person compares the digits (`valise peer
verify ID --fingerprint DIGITS`) the kept bundles are read at the next import or sync.
An office that cannot compare fingerprints may accept unverified peers by a setting
(`valise policy set accept-unverified-peers yes`); the setting is off by default and each
change is recorded in the audit log.

A peer whose key was revoked (the `revocations` table, written by the trust statements
of storage.apply) receives nothing at all, whatever the setting: whoever holds a stolen
laptop must not read what is added after the theft.

Both rules are checked where bundles are written (sync.export) and read (sync.importer);
`sync usb` and the sync centre skip such peers and say why with `export_refusal`.
"""

from __future__ import annotations

from storage import audit, roles
from storage.apply import revoked_after
from storage.text_rules import one_line
from storage.workspace import Workspace
from sync.peers import Peer

ACCEPT_UNVERIFIED_META = "accept_unverified_peers"
ACCEPT_UNVERIFIED_SETTING = "accept-unverified-peers"  # the name people type
UNVERIFIED = "unverified sender"  # the code of a bundle kept for a peer on probation
_YES, _NO = "yes", "no"


def who(peer: Peer) -> str:
    """A peer as sentences name it: office, role and the first group of its fingerprint,
    e.g. "Kabora field office (office, 40281…)"."""
    first_group = peer.fingerprint.split()[0]
    return f"{one_line(peer.office_name, 120)} ({peer.role}, {first_group}…)"


def how_to_verify(peer: Peer) -> str:
    """The sentence telling a person how to lift a peer's probation."""
    return (
        f"Compare the fingerprint digits with {one_line(peer.office_name, 120)} by phone or"
        f" on paper, then run `valise peer verify {peer.peer_id} --fingerprint DIGITS`"
        " (or Mark as verified in the window's Peers view)."
    )


def accepts_unverified_peers(ws: Workspace) -> bool:
    """True when this office accepts peers whose fingerprint was never compared (off
    unless a person turned it on; anything but "yes" in the setting reads as off)."""
    return ws.meta(ACCEPT_UNVERIFIED_META, _NO) == _YES


def set_accept_unverified_peers(ws: Workspace, accept: bool) -> bool:
    """Turn the acceptance of unverified peers on or off, stated in the audit log; False
    (and nothing recorded) when it already was so."""
    what = (
        "accept peers whose fingerprint was never compared"
        if accept
        else ("stop accepting peers whose fingerprint was never compared")
    )
    roles.require(ws, roles.MANAGE_PEERS, what)
    with ws.transaction() as conn:
        before = accepts_unverified_peers(ws)
        if before == accept:
            return False
        ws.set_meta(ACCEPT_UNVERIFIED_META, _YES if accept else _NO)
        audit.append(
            conn,
            ws.author,
            "policy changed",
            ACCEPT_UNVERIFIED_SETTING,
            {"from": _YES if before else _NO, "to": _YES if accept else _NO},
        )
    return True


def on_probation(ws: Workspace, peer: Peer) -> bool:
    """True while nothing is read from or written for `peer` because nobody compared its
    fingerprint (and the office does not accept unverified peers)."""
    return not peer.verified and not accepts_unverified_peers(ws)


def revocation(ws: Workspace, peer: Peer) -> str | None:
    """Why `peer`'s key is no longer used, as a clause ("its key was revoked after its
    change 4: laptop stolen"), or None when it is not revoked."""
    revoked = revoked_after(ws.conn, peer.origin)
    if revoked is None:
        return None
    _, after, reason = revoked
    reason = one_line(reason, 200).rstrip(".")
    return f"its key was revoked after its change {after} ({reason})"


def export_refusal(ws: Workspace, peer: Peer) -> str | None:
    """Why no bundle may be written for `peer`, as a sentence, or None when one may."""
    revoked = revocation(ws, peer)
    if revoked is not None:
        return f"Nothing is written for {who(peer)}: {revoked}; nothing more goes to that key."
    if on_probation(ws, peer):
        return (
            f"Nothing is written for {who(peer)}: its fingerprint was never compared, so"
            f" the card may not be theirs. {how_to_verify(peer)}"
        )
    return None


def probation_notice(peer: Peer) -> str:
    """What an import says of a bundle from a peer on probation (it is kept unread)."""
    return (
        f"The bundle comes from {who(peer)}, whose fingerprint was never compared, so it is"
        f" not read yet. {how_to_verify(peer)}"
    )
