"""Several real workspaces that know each other, for sync tests.

Each installation has its own keys, so each is created once per session and copied per
test. `Network` opens the copies, adds every installation as every other's peer (with the
role it has, verified as the offices would after comparing fingerprints) and offers the
steps tests repeat: share, export, import, exchange.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace, open_workspace
from sync import peers
from sync.cards import ContactCard, parse_card
from sync.export import ExportResult, export_bundle
from sync.importer import ImportReport, import_paths
from tests.conftest import OFFICER, OFFICER_PASSPHRASE, PASSPHRASE, add_officer

# name -> (office name, the role others give it)
INSTALLATIONS = {
    "kabora": ("Kabora field office", "office"),
    "dressa": ("Dressa field office", "office"),
    "liaison": ("Tribunal liaison", "liaison"),
    "ngo": ("Varosa Documentation Project", "ngo"),
}


@pytest.fixture(scope="session")
def installation_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One closed workspace per installation, made once."""
    base = tmp_path_factory.mktemp("installations")
    roots = {}
    for name, (office, role) in INSTALLATIONS.items():
        root = base / name
        ws = create_workspace(root, office, PASSPHRASE, kdf=FAST_INSECURE_KDF)
        ws.set_meta("role", role)
        ws.close()
        roots[name] = root
    return roots


@dataclass
class Network:
    """Open workspaces that are each other's peers."""

    base: Path
    ws: dict[str, Workspace] = field(default_factory=dict)
    sticks: int = 0

    def peer(self, holder: str, other: str) -> peers.Peer:
        """`other` as `holder` knows it."""
        return peers.get_peer(self.ws[holder], self.ws[other].origin)

    def share(self, holder: str, case_id: str, *others: str) -> None:
        """Share a case of `holder` with the other installations."""
        for other in others:
            peers.share_case(self.ws[holder], case_id, self.peer(holder, other))

    def as_officer(self, name: str) -> Workspace:
        """Unlock installation `name` again as a protection officer (added by its
        supervisor), who may reveal identities and change protection but not manage
        peers; returns the workspace, which replaces the supervisor's in `ws`."""
        ws = self.ws[name]
        add_officer(ws)
        root = ws.paths.root
        ws.close()
        self.ws[name] = open_workspace(root, OFFICER_PASSPHRASE, user=OFFICER)
        return self.ws[name]

    def new_stick(self) -> Path:
        """An empty folder standing for a USB stick."""
        self.sticks += 1
        stick = self.base / f"stick-{self.sticks}"
        stick.mkdir()
        return stick

    def export(self, sender: str, *recipients: str, stick: Path | None = None) -> ExportResult:
        """A bundle from `sender` for `recipients` on a stick (a new one by default)."""
        target = stick or self.new_stick()
        return export_bundle(self.ws[sender], [self.peer(sender, r) for r in recipients], target)

    def receive(self, receiver: str, *paths: Path) -> list[ImportReport]:
        """Import bundles from files or sticks."""
        return import_paths(self.ws[receiver], list(paths))

    def send(self, sender: str, receiver: str) -> ImportReport:
        """Export for one peer and import at it; returns the import's report."""
        result = self.export(sender, receiver)
        reports = self.receive(receiver, result.head)
        assert len(reports) == 1, reports
        return reports[0]


def compare_new_keys(ws: Workspace, new_origin: str) -> list[ImportReport]:
    """After a peer replaced its keys, its new key is on probation here (a new key never
    inherits `verified`): a person compares the new fingerprint, and the bundles kept
    meanwhile are read. Returns their import reports."""
    new = peers.peer_by_origin(ws, new_origin)
    assert new is not None and not new.verified, new
    peers.verify_peer(ws, new, new.fingerprint)
    return import_paths(ws, [])


def add_verified(ws: Workspace, card: ContactCard, role: str) -> peers.Peer:
    """Add a peer and verify it with the digits of its card, as the people setting up two
    offices do once they compared the fingerprint by phone: out of probation."""
    peer = peers.add_peer(ws, card, role)
    return peers.verify_peer(ws, peer, card.fingerprint)


@pytest.fixture
def network(installation_templates: dict[str, Path], tmp_path: Path) -> Iterator[Network]:
    """Every installation open, each knowing the others as verified peers (tests of
    probation make their own unverified pair)."""
    net = Network(tmp_path)
    for name, template in installation_templates.items():
        root = tmp_path / name
        shutil.copytree(template, root)
        net.ws[name] = open_workspace(root, PASSPHRASE)
    cards = {name: parse_card(peers.card_bytes(ws)) for name, ws in net.ws.items()}
    for holder, ws in net.ws.items():
        for other, card in cards.items():
            if other != holder:
                add_verified(ws, card, INSTALLATIONS[other][1])
    yield net
    for ws in net.ws.values():
        ws.close()


def children_of(pid: int | str = "self") -> set[str]:
    """Processes `pid` started that are still there, zombies included (a zombie is
    still its parent's child until reaped)."""
    found: set[str] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update((task / "children").read_text().split())
        except OSError:  # the task ended meanwhile
            continue
    return found


@pytest.fixture
def no_process_left() -> Iterator[None]:
    """After the test, no process started during it (workers, the resource tracker that
    `spawn` starts beside them) is still running or waiting to be reaped."""
    before = children_of()
    yield
    left = children_of() - before
    states = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-p", ",".join(left) or "0"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert not left, f"processes left behind:\n{states}"
