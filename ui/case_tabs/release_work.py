"""The Evidence tab's release steps, run on its worker: what the Release… dialog offers, and
recording the chosen release (`sync.releases.release_to`, the same call as
`valise evidence release`)."""

from __future__ import annotations

from dataclasses import dataclass

from storage import queries
from storage.consent import PARTNERS, consent_problem
from storage.entities import RESTRICTED_ROLES
from storage.evidence import custody
from storage.records import CustodyEvent, Evidence
from storage.releases import releases_of
from storage.workspace import Workspace
from sync.peers import list_peers
from sync.releases import release_to, role_in_case
from ui.dialogs.release_form import ReleaseChoice, ReleaseTarget

ROLE_TARGETS = (
    ReleaseTarget("ngo", "Every NGO peer"),
    ReleaseTarget("defence", "Every defence peer"),
)


@dataclass(frozen=True)
class ReleaseOptions:
    """What the dialog shows: the item, whom it may go to, and what stands in the way."""

    item: Evidence
    targets: tuple[ReleaseTarget, ...]
    blocked: str


@dataclass(frozen=True)
class ReleaseOutcome:
    """The item after a release: its custody timeline and a sentence saying what was done."""

    item: Evidence
    events: list[CustodyEvent]
    sentence: str


def read_release_options(ws: Workspace, evidence_id: str) -> ReleaseOptions:
    """The peers that are NGO or defence in the item's case (by their grant, else by the
    role given them here) whose keys are not revoked, each restricted role as a whole, and
    why the item cannot be released to partners, if it cannot."""
    item = queries.get(ws.conn, Evidence, evidence_id)
    peers = []
    for peer in list_peers(ws):
        role = role_in_case(ws, item.case_id, peer)
        if role in RESTRICTED_ROLES and peer.revoked_after is None:
            peers.append(ReleaseTarget(peer.peer_id, f"{peer.office_name} ({role})"))
    blocked = consent_problem(ws.conn, item.id, PARTNERS)
    if item.withdrawn:
        blocked = f"{item.ern} was withdrawn, so it cannot be released."
    return ReleaseOptions(item, (*peers, *ROLE_TARGETS), blocked)


def release(ws: Workspace, evidence_id: str, choice: ReleaseChoice) -> ReleaseOutcome:
    """Record the release the person chose; the timeline after it."""
    release_id = release_to(ws, evidence_id, choice.target, with_file_name=choice.with_file_name)
    item = queries.get(ws.conn, Evidence, evidence_id)
    made = next(r for r in releases_of(ws.conn, item.id) if r.id == release_id)
    name = "with" if made.with_file_name else "without"
    sentence = (
        f"Released {item.ern} to {made.grantee}, {name} its original file name. The release"
        " is recorded in its custody timeline and goes with the next bundle for them."
    )
    return ReleaseOutcome(item, custody(ws, item.id), sentence)
