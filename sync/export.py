"""Writing a bundle for one or more peers onto a stick (or any folder).

What goes in for full-trust peers (office, liaison): the changesets of the cases shared
with every recipient that some recipient does not yet hold (by the holdings its last
bundle reported; its own changesets too, which an office restored from a backup lacks), in
the order we applied them, each with the reveals its recipients may see (sync.redaction);
then the evidence files those changesets register.

A restricted peer (ngo, defence) gets a bundle of its own and no raw history about a case:
its projection (sync.projection: what it may see now, signed by this office), its own
changesets it lacks, the key statements that concern it or us, receipts, and the holdings
that concern it; evidence bytes only for items in its projection (and for its own items
whose bytes only it ever sent us: never by digest).

Parts are written and fsynced first and the head last, so a stick pulled out mid-write
leaves no head and nothing that imports as whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyrage
from pyrage import x25519

from storage import audit, canonical
from storage.atomic import fsync_directory
from storage.blobs import Cancelled
from storage.changesets import decode
from storage.entities import PROTECTED
from storage.workspace import Draft, Workspace, new_id
from sync.agekeys import age_recipient
from sync.authority import may_record_custody
from sync.bundle_format import (
    BUNDLE_FOLDER,
    HEAD_SUFFIX,
    MANIFEST_DOMAIN,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    MAX_PART_BYTES,
    PART_SUFFIX,
    blob_frame_header,
    changeset_frame,
    encode_head,
)
from sync.case_roles import receives_projection, restricted_cases
from sync.errors import SyncError
from sync.evidence_parts import (
    EvidenceWorkers,
    PartJob,
    StoredBlob,
    cut_into_parts,
    part_bytes,
)
from sync.holdings import Holdings, HoldingsIndex, compress, held_back_to_retry, held_here
from sync.parts import PayloadSource, plaintext_budget, write_part
from sync.peer_state import export_refusal
from sync.peers import Peer
from sync.projection import (
    is_restricted,
    projected_for,
    projection_pending,
    stream_changeset,
    stream_entries,
    stream_ops,
    update_projection,
)
from sync.redaction import FULL_TRUST_ROLES, may_receive, releasable_reveals, sight, sight_words
from sync.trust import our_keys, own_endorsement

Progress = Callable[[int, int], None]


@dataclass
class ExportResult:
    """What a bundle holds and where it was written."""

    bundle_id: str
    head: Path
    parts: list[Path]
    recipients: list[Peer]
    changesets: int = 0
    evidence: int = 0
    evidence_bytes: int = 0
    bytes_written: int = 0
    cases: set[str] = field(default_factory=set)
    workers: int = 0  # processes that encrypted evidence parts beside this one

    @property
    def files(self) -> list[Path]:
        """Every file of the bundle, head last."""
        return [*self.parts, self.head]


@dataclass
class _Plan:
    changesets: list[tuple[str, str]]  # (changeset id, case_prev) in applied order
    blobs: list[tuple[str, int]]  # (sha256, size)
    evidence_sent: list[tuple[str, str, str]]  # (case id, evidence id, sha256)
    introductions: dict[str, tuple[str, bytes]]
    cases: set[str]
    blob_bytes: int = 0
    # For a restricted peer: its projection changesets (id, case_prev), and the holdings
    # its bundle tells it (only what concerns it) instead of everything we hold.
    projected: list[tuple[str, str]] = field(default_factory=list)
    holdings: Holdings | None = None

    @property
    def frames(self) -> int:
        """How many changesets the bundle carries."""
        return len(self.changesets) + len(self.projected)

    def add_blob(self, ws: Workspace, case_id: str, evidence_id: str, sha: str) -> None:
        """Send the bytes of an evidence item (once per file), when we hold them."""
        self.evidence_sent.append((case_id, evidence_id, sha))
        if any(known == sha for known, _ in self.blobs):
            return
        size_row = ws.conn.execute("SELECT size FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
        if size_row:
            self.blobs.append((sha, int(size_row[0])))
            self.blob_bytes += int(size_row[0])


def _shared_cases(ws: Workspace, peers: Sequence[Peer]) -> set[str]:
    """The cases whose raw history goes to every one of `peers`: shared with each, and
    not a case where one of them holds a partner role (it gets a projection of those)."""
    shared: set[str] | None = None
    for peer in peers:
        rows = ws.conn.execute(
            "SELECT case_id FROM case_shares WHERE peer_origin = ?", (peer.origin,)
        )
        cases = {str(r[0]) for r in rows} - set(restricted_cases(ws, peer))
        shared = cases if shared is None else shared & cases
    return shared or set()


def _holdings_of(ws: Workspace, peer: Peer) -> HoldingsIndex | None:
    """What `peer` said it holds in its last bundle; None when it never said anything."""
    row = ws.conn.execute("SELECT holdings FROM peers WHERE origin = ?", (peer.origin,)).fetchone()
    holdings = json.loads(row[0]) if row else {}
    return HoldingsIndex(holdings) if holdings else None


def _lacks(peer: Peer, index: HoldingsIndex | None, origin: str, epoch: int, seq: int) -> bool:
    """True when `peer` should get this changeset. Its own changesets go back to it only
    when its holdings show it lacks them: an office restored from a backup lacks the work
    it did after the backup, and nobody else can give it back."""
    if index is None:
        return peer.origin != origin
    return not index.holds(origin, epoch, seq)


def _plan(ws: Workspace, peers: Sequence[Peer]) -> _Plan:
    """Choose what goes in, in one pass over the history of the shared cases."""
    if any(is_restricted(peer.role) for peer in peers):
        _check_restricted_alone(ws, peers)
        return _plan_restricted(ws, peers[0])
    _check_restricted_alone(ws, peers)
    cases = _shared_cases(ws, peers)
    indexes = [(peer, _holdings_of(ws, peer)) for peer in peers]
    plan = _Plan([], [], [], {}, set())
    last_in_case: dict[tuple[str, str], str] = {}
    seen_blobs: set[str] = set()
    rows = ws.conn.execute(
        "SELECT c.id, c.origin, c.epoch, c.seq, c.case_id, c.body, o.office_name,"
        " o.signing_public, c.author FROM changesets c JOIN origins o ON o.origin = c.origin"
        " ORDER BY c.rowid"
    )
    revoked = _revocation_points(ws)
    for cs_id, origin, epoch, seq, case_id, body, office, signing, author in rows:
        if case_id not in cases and case_id != "":  # "": key statements go to everyone
            continue
        if origin in revoked and (epoch, seq) > revoked[origin]:
            continue  # applied before we heard of the revocation: never passed on
        if projected_for(str(author)) is not None:
            continue  # a projection another office wrote for us: never passed on
        case_prev = last_in_case.get((origin, case_id), "")
        last_in_case[(origin, case_id)] = cs_id
        lacking = [peer for peer, index in indexes if _lacks(peer, index, origin, epoch, seq)]
        if not lacking:
            continue
        plan.changesets.append((cs_id, case_prev))
        plan.cases.add(case_id)
        if origin != ws.origin:
            plan.introductions[origin] = (str(office), bytes(signing))
        for op in decode(bytes(body)).ops:
            if op.entity == "evidence" and op.kind == "create" and "sha256" in op.fields:
                sha = str(op.fields["sha256"])
                plan.evidence_sent.append((case_id, op.entity_id, sha))
                if sha not in seen_blobs:
                    seen_blobs.add(sha)
                    size_row = ws.conn.execute(
                        "SELECT size FROM blobs WHERE sha256 = ?", (sha,)
                    ).fetchone()
                    if size_row:
                        plan.blobs.append((sha, int(size_row[0])))
                        plan.blob_bytes += int(size_row[0])
    if len(peers) == 1:
        # Added as an office, granted a partner role in some case: that case's projection.
        _add_projection(ws, peers[0], indexes[0][1], plan)
    return plan


def _revocation_points(ws: Workspace) -> dict[str, tuple[int, int]]:
    """(epoch, seq) after which each revoked key's changesets are not passed on."""
    rows = ws.conn.execute("SELECT origin, epoch, after_seq FROM revocations")
    return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}


def has_news_for(ws: Workspace, peer: Peer) -> bool:
    """True when a bundle for `peer` would carry changesets it lacks or receipts (whether
    one may be written for it is `sync.peer_state.export_refusal`'s to say)."""
    receipts = ws.conn.execute(
        "SELECT 1 FROM receipts_due WHERE peer_origin = ? LIMIT 1", (peer.origin,)
    ).fetchone()
    if receipts:
        return True
    if receives_projection(ws, peer) and projection_pending(ws, peer.origin, peer.role):
        return True
    return bool(_plan(ws, [peer]).frames)


def _check_restricted_alone(ws: Workspace, peers: Sequence[Peer]) -> None:
    """A peer that receives a projection of some case (added as a partner, or granted a
    partner role in a case: sync.case_roles) reads it in a bundle of its own."""
    if len(peers) == 1:
        return
    restricted = next((peer for peer in peers if receives_projection(ws, peer)), None)
    if restricted is None:
        return
    others = ", ".join(p.office_name for p in peers if p is not restricted)
    raise SyncError(
        f"{restricted.office_name} ({restricted.role}) receives a projection of its own, not"
        f" what {others} receive{'s' if len(peers) == 2 else ''}: write them separate bundles."
    )


def _concerns(ops: Sequence[Any], subjects: set[str]) -> bool:
    """True when a key statement (revocation, rotation) is about one of `subjects`."""
    return any(str(op.fields.get("subject", "")) in subjects for op in ops)


def _bytes_only_from(ws: Workspace, sha: str, peer: Peer) -> bool:
    """True when every evidence record naming `sha` here was created by `peer`: then the
    bytes we hold came from it, and giving them back reveals nothing. A record naming the
    digest of someone else's file (bait) gets no bytes."""
    row = ws.conn.execute(
        "SELECT 1 FROM evidence e LEFT JOIN field_state f ON f.entity = 'evidence'"
        " AND f.entity_id = e.id AND f.field = '*'"
        " WHERE e.sha256 = ? AND coalesce(f.origin, '') != ? LIMIT 1",
        (sha, peer.origin),
    ).fetchone()
    return row is None


def _plan_restricted(ws: Workspace, peer: Peer) -> _Plan:
    """What a restricted peer gets: its projection, its own changesets it lacks, key
    statements about it or us, and holdings that concern it. Call `update_projection`
    first so the projection is up to date."""
    index = _holdings_of(ws, peer)
    plan = _Plan([], [], [], {}, set())
    slots = _add_projection(ws, peer, index, plan)
    subjects = {peer.origin, *(origin for origin, _ in our_keys(ws))}
    last_in_case: dict[tuple[str, str], str] = {}
    rows = ws.conn.execute(
        "SELECT c.id, c.origin, c.epoch, c.seq, c.case_id, c.body, o.office_name,"
        " o.signing_public FROM changesets c JOIN origins o ON o.origin = c.origin"
        " WHERE c.origin = ? OR c.case_id = '' ORDER BY c.rowid",
        (peer.origin,),
    )
    for cs_id, origin, epoch, seq, case_id, body, office, signing in rows:
        ops = decode(bytes(body)).ops
        if origin != peer.origin and not _concerns(ops, subjects):
            continue  # a key statement about someone else: not the peer's business
        slots.append((str(origin), int(epoch), int(seq)))
        case_prev = last_in_case.get((origin, case_id), "")
        last_in_case[(origin, case_id)] = cs_id
        own = origin == peer.origin
        # Its own work goes back only when its holdings show it lacks it (a restore).
        lacking = not index.holds(origin, epoch, seq) if index is not None else not own
        if not lacking:
            continue
        plan.changesets.append((cs_id, case_prev))
        if case_id:
            plan.cases.add(case_id)
        if origin != ws.origin:
            plan.introductions[origin] = (str(office), bytes(signing))
        for op in ops:
            sha = str(op.fields.get("sha256", ""))
            creates_evidence = op.entity == "evidence" and op.kind == "create" and sha
            if creates_evidence and _bytes_only_from(ws, sha, peer):
                plan.add_blob(ws, case_id, op.entity_id, sha)
    # What it wrote that we hold back and try again ourselves: it need not send it again.
    slots.extend(held_back_to_retry(ws.conn, peer.origin))
    plan.holdings = compress(sorted(set(slots)))
    return plan


def _add_projection(
    ws: Workspace, peer: Peer, index: HoldingsIndex | None, plan: _Plan
) -> list[tuple[str, int, int]]:
    """Add to `plan` the projection changesets written for `peer` that it does not hold
    yet, with the bytes of the evidence they create; returns every (origin, epoch, seq)
    of its stream (what it holds of it, once it has this bundle)."""
    slots: list[tuple[str, int, int]] = []
    for entry in stream_entries(ws.conn, peer.origin):
        slots.append((entry.origin, entry.epoch, entry.seq))
        if index is not None and index.holds(entry.origin, entry.epoch, entry.seq):
            continue
        plan.projected.append((entry.cs_id, entry.case_prev))
        plan.cases.add(entry.case_id)
        for op in stream_ops(ws.conn, entry.cs_id):
            if op.entity == "evidence" and op.kind == "create" and "sha256" in op.fields:
                plan.add_blob(ws, entry.case_id, op.entity_id, str(op.fields["sha256"]))
    return slots


def _stored_blobs(ws: Workspace, plan: _Plan) -> list[StoredBlob]:
    """The evidence files of the payload, in order, with their frame headers."""
    blobs: list[StoredBlob] = []
    for sha, size in plan.blobs:
        store_name, key = ws.conn.execute(
            "SELECT store_name, blob_key FROM blobs WHERE sha256 = ?", (sha,)
        ).fetchone()
        blobs.append(StoredBlob(blob_frame_header(size, sha), str(store_name), bytes(key), size))
    return blobs


def _payload(
    ws: Workspace,
    plan: _Plan,
    roles: list[str],
    blobs: list[StoredBlob],
    digest: Any,
    cancel: threading.Event | None,
) -> Iterator[bytes]:
    """The payload's bytes, frame by frame: the changesets, then `blobs` streamed from the
    store (none when workers write the evidence parts). `digest` takes every byte except
    evidence contents, which their own SHA-256 (in the frame header, so in the digest)
    already binds."""
    for cs_id, case_prev in plan.changesets:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        body, sig = ws.conn.execute(
            "SELECT body, sig FROM changesets WHERE id = ?", (cs_id,)
        ).fetchone()
        body = bytes(body)
        reveals = releasable_reveals(ws.conn, cs_id, decode(body).ops, roles)
        frame = changeset_frame(body, bytes(sig), case_prev, reveals)
        digest.update(frame)
        yield frame
    for cs_id, case_prev in plan.projected:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        body, sig = stream_changeset(ws.conn, cs_id)
        frame = changeset_frame(body, sig, case_prev, [])  # a projection holds no sealed field
        digest.update(frame)
        yield frame
    for blob in blobs:
        digest.update(blob.header)
        yield blob.header
        for chunk in ws.blobs.read(blob.store_name, blob.key):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            yield chunk


def _write_file(path: Path, write: Callable[[BinaryIO], None]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _sign(ws: Workspace, manifest: dict[str, Any]) -> bytes:
    manifest_bytes = canonical.encode(manifest)
    signature = ws.keys.signer().sign(MANIFEST_DOMAIN + manifest_bytes)
    return encode_head(manifest_bytes, signature)


def _receipts_for(ws: Workspace, peers: Sequence[Peer]) -> list[dict[str, Any]]:
    receipts: list[dict[str, Any]] = []
    for peer in peers:
        rows = ws.conn.execute(
            "SELECT receipt FROM receipts_due WHERE peer_origin = ? ORDER BY bundle_id",
            (peer.origin,),
        )
        receipts.extend(canonical.decode(str(r[0]).encode()) for r in rows)
    return receipts


def _overall_progress(
    progress: Progress | None, workers: EvidenceWorkers | None
) -> Progress | None:
    """Progress of the main process's parts plus what the workers have done meanwhile."""
    if progress is None or workers is None:
        return progress
    return lambda done, total: progress(done + workers.done_bytes(), total)


def _worker_progress(
    progress: Progress | None, own: int, total: int
) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda workers_done: progress(own + workers_done, total)


def office_names(peers: Sequence[Peer]) -> str:
    """ "A", "A and B", "A, B and C": peers named by office, for sentences."""
    names = [p.office_name for p in peers]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _check_named(ws: Workspace, peers: Sequence[Peer]) -> None:
    """Refuse an empty or repeated list of recipients, and any recipient whose state
    forbids writing for it (revoked, or on probation): nothing is written then."""
    if not peers:
        raise SyncError("Name at least one peer to write a bundle for.")
    if len({p.origin for p in peers}) != len(peers):
        raise SyncError("A peer is named twice.")
    refusals = [text for text in (export_refusal(ws, peer) for peer in peers) if text]
    if refusals:
        raise SyncError(" ".join([*refusals, "No bundle was written."]))


def recipient_groups(ws: Workspace, peers: Sequence[Peer]) -> list[list[Peer]]:
    """`peers` split into groups that may see the same things (sync.redaction.sight), in
    the order they were named: each group can share one bundle, no two groups can. Each
    peer that receives a projection is a group of its own."""
    groups: dict[object, list[Peer]] = {}
    for peer in peers:
        # A projection is read by its peer alone: it shares its bundle with nobody.
        own = receives_projection(ws, peer)
        key = ("projection", peer.origin) if own else sight(peer.role)
        groups.setdefault(key, []).append(peer)
    return list(groups.values())


@dataclass
class GroupFailure:
    """A group of recipients whose bundle could not be written, and why."""

    recipients: list[Peer]
    message: str


@dataclass
class ExportRun:
    """The bundles written for peers named together: one per group that may see the same
    things, so nobody receives more than its role allows and a person need not sort them."""

    written: list[ExportResult] = field(default_factory=list)
    failed: list[GroupFailure] = field(default_factory=list)
    not_started: list[list[Peer]] = field(default_factory=list)  # left by a cancel
    # What each group sees, in words (group_sight), by its peers' ids.
    sights: dict[tuple[str, ...], str] = field(default_factory=dict)

    def summary(self) -> str:
        """What was written for whom, and what was not, in a sentence or three."""

        def one(peers: Sequence[Peer]) -> str:
            words = self.sights.get(_group_key(peers)) or sight_words(peers[0].role)
            return f"{office_names(peers)} ({words})"

        if len(self.written) == 1 and not self.failed and not self.not_started:
            text = f"Wrote a bundle for {one(self.written[0].recipients)}."
        else:
            count = len(self.written)
            text = f"Wrote {count} bundle{'' if count == 1 else 's'}" + (
                ": " + ", ".join(f"one for {one(r.recipients)}" for r in self.written) + "."
                if self.written
                else "."
            )
        for failure in self.failed:
            text += f" FAILED writing the one for {one(failure.recipients)}: {failure.message}"
        for peers in self.not_started:
            text += f" Cancelled before the one for {one(peers)}: nothing of it was written."
        return text


def _group_key(peers: Sequence[Peer]) -> tuple[str, ...]:
    return tuple(peer.peer_id for peer in peers)


def group_sight(ws: Workspace, peers: Sequence[Peer]) -> str:
    """What a group of recipients sees of protected people, in a few words for the
    summary. The locally typed role says it for most; but a peer added as an office and
    granted a partner role in some cases receives those cases as a partner's projection
    (sync.case_roles), and a person reading "full identities" would believe otherwise."""
    words = sight_words(peers[0].role)
    if len(peers) == 1 and peers[0].role in FULL_TRUST_ROLES:
        as_partner = len(restricted_cases(ws, peers[0]))
        if as_partner:
            cases = "case" if as_partner == 1 else f"{as_partner} cases"
            words += f"; pseudonyms only in the {cases} it is granted as a partner"
    return words


def export_bundles(
    ws: Workspace,
    peers: Sequence[Peer],
    out_dir: Path,
    *,
    part_size: int = MAX_PART_BYTES,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportRun:
    """Write one bundle per group of `peers` that may see the same things. A group whose
    bundle fails is reported and the others are still written; when none could be written
    the error is raised. A cancel keeps the bundles finished before it (raised when there
    are none)."""
    _check_named(ws, peers)
    run = ExportRun()
    groups = recipient_groups(ws, peers)
    run.sights = {_group_key(group): group_sight(ws, group) for group in groups}
    for number, group in enumerate(groups):
        try:
            run.written.append(
                export_bundle(
                    ws, group, out_dir, part_size=part_size, progress=progress, cancel=cancel
                )
            )
        except Cancelled:
            if not run.written:
                raise
            run.not_started = groups[number:]
            return run
        except SyncError as exc:
            run.failed.append(GroupFailure(group, str(exc)))
    if not run.written:
        raise SyncError(" ".join(f.message for f in run.failed))
    return run


def export_bundle(
    ws: Workspace,
    peers: Sequence[Peer],
    out_dir: Path,
    *,
    part_size: int = MAX_PART_BYTES,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Write one bundle for `peers` under `out_dir/Valise/` and record that it was sent.
    The peers must all see the same things; `export_bundles` sorts them into groups."""
    _check_named(ws, peers)
    if any(receives_projection(ws, p) for p in peers):
        _check_restricted_alone(ws, peers)
    elif len({sight(p.role) for p in peers}) > 1:
        # One bundle is redacted for its strictest reader; a trusted reader in it would be
        # counted as holding values it never received. export_bundles never gets here.
        trusted = ", ".join(p.office_name for p in peers if may_receive(p.role, PROTECTED))
        restricted = ", ".join(p.office_name for p in peers if not may_receive(p.role, PROTECTED))
        raise SyncError(
            f"{trusted} may see protected identities and {restricted} may not: write them"
            " separate bundles."
        )
    folder = out_dir / BUNDLE_FOLDER
    if folder.is_symlink():
        raise SyncError(
            f"{folder} is a symbolic link, not a folder; Valise does not write through links"
            " on a stick. Remove the link, then export again."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SyncError(f"Cannot write to {out_dir}: {exc.strerror}.") from None
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if receives_projection(ws, peers[0]):
        update_projection(ws, peers[0].origin, peers[0].role)
    # The raw changesets a restricted bundle carries are the peer's own (and key
    # statements): it may have back the values it sealed itself.
    partner = is_restricted(peers[0].role)
    roles = [FULL_TRUST_ROLES[0]] if partner else [peer.role for peer in peers]
    plan = _plan(ws, peers)
    recipient_texts = [age_recipient(p.encryption_public) for p in peers]
    recipient_texts.append(age_recipient(ws.keys.encryption_public))
    recipients = [x25519.Recipient.from_str(text) for text in recipient_texts]
    result = ExportResult(secrets.token_hex(16), folder / "", [], list(peers))
    digest = hashlib.sha256()
    budget = plaintext_budget(part_size, len(recipients))
    blobs = _stored_blobs(ws, plan)
    workers = EvidenceWorkers.start(plan.blob_bytes)
    jobs: list[PartJob] = []
    try:
        if workers is not None:
            per_part = part_bytes(blobs, workers.count, budget)
            jobs = [
                PartJob(
                    folder / f"{secrets.token_hex(16)}{PART_SUFFIX}",
                    ws.blobs.folder,
                    recipient_texts,
                    stretches,
                )
                for stretches in cut_into_parts(blobs, per_part)
            ]
            workers.submit(jobs)
            result.workers = workers.count
        in_process = [] if workers is not None else blobs
        source = PayloadSource(
            _payload(ws, plan, roles, in_process, digest, cancel),
            _overall_progress(progress, workers),
            plan.blob_bytes,
        )
        part_entries: list[dict[str, Any]] = []
        while not source.exhausted or not part_entries:
            name = secrets.token_hex(16)
            path = folder / f"{name}{PART_SUFFIX}"
            result.parts.append(path)
            size = write_part(path, source, budget, recipients)
            part_entries.append({"name": name, "size": size})
        payload_size = source.size
        if workers is not None:
            for blob in blobs:
                digest.update(blob.header)
            sizes = workers.wait(_worker_progress(progress, source.size, plan.blob_bytes), cancel)
            for job, size in zip(jobs, sizes, strict=True):
                result.parts.append(job.path)
                part_entries.append({"name": job.path.name.removesuffix(PART_SUFFIX), "size": size})
                payload_size += job.size
        if cancel is not None and cancel.is_set():
            raise Cancelled()  # the last moment: the head makes the bundle whole
        result.bytes_written = sum(int(entry["size"]) for entry in part_entries)
        manifest = _manifest(ws, result.bundle_id, peers, plan, part_entries, payload_size, digest)
        head_plain = _sign(ws, manifest)
        head_name = secrets.token_hex(16)
        temp = folder / f".{head_name}.writing"
        result.head = folder / f"{head_name}{HEAD_SUFFIX}"

        def write_head(handle: BinaryIO) -> None:
            handle.write(pyrage.encrypt(head_plain, recipients))

        _write_file(temp, write_head)
        os.replace(temp, result.head)
        fsync_directory(folder)
    except BaseException as exc:
        if workers is not None:
            workers.close()  # no worker may still be writing a part we delete
        for path in [
            *result.parts,
            *(job.path for job in jobs),
            folder / f".{result.head.name}.writing",
        ]:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, OSError):
            offices = office_names(peers)
            raise SyncError(
                f"Writing the bundle for {offices} to {out_dir} failed ({exc.strerror});"
                " none of its files were left there."
            ) from None
        raise
    if workers is not None:
        workers.close()
    result.changesets = plan.frames
    result.evidence = len(plan.blobs)
    result.evidence_bytes = plan.blob_bytes
    result.cases = plan.cases
    result.bytes_written += result.head.stat().st_size
    _record_export(ws, result, plan)
    return result


def _manifest(
    ws: Workspace,
    bundle_id: str,
    peers: Sequence[Peer],
    plan: _Plan,
    parts: list[dict[str, Any]],
    payload_size: int,
    digest: Any,
) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "bundle_id": bundle_id,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sender": {
            "origin": ws.origin,
            "office_name": ws.office_name,
            "signing_public": ws.keys.signing_public.hex(),
            "encryption_public": ws.keys.encryption_public.hex(),
        },
        "recipients": [
            {
                "origin": p.origin,
                "office_name": p.office_name,
                "encryption_public": p.encryption_public.hex(),
            }
            for p in peers
        ],
        "holdings": held_here(ws.conn) if plan.holdings is None else plan.holdings,
        "receipts": _receipts_for(ws, peers),
        "introductions": [
            {"origin": origin, "office_name": office, "signing_public": signing.hex()}
            for origin, (office, signing) in sorted(plan.introductions.items())
        ],
        "endorsement": own_endorsement(ws),
        "parts": parts,
        "payload": {
            "size": payload_size,
            "sha256": digest.hexdigest(),
            "changesets": plan.frames,
            "blobs": len(plan.blobs),
            "blob_bytes": plan.blob_bytes,
        },
    }


def _record_export(ws: Workspace, result: ExportResult, plan: _Plan) -> None:
    """Bookkeeping after the bundle is safely written: the export, receipts sent, and a
    custody event for each evidence item whose bytes left in it."""
    offices = ", ".join(p.office_name for p in result.recipients)
    summary = {
        "changesets": result.changesets,
        "evidence": result.evidence,
        "bytes": result.bytes_written,
        "cases": len(result.cases),
    }
    sent_blobs = {sha for sha, _ in plan.blobs}
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO bundles_out(bundle_id, recipients, created, summary) VALUES (?,?,?,?)",
            (
                result.bundle_id,
                json.dumps([p.peer_id for p in result.recipients]),
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                json.dumps(summary),
            ),
        )
        for peer in result.recipients:
            conn.execute("DELETE FROM receipts_due WHERE peer_origin = ?", (peer.origin,))
        record_handoff(
            ws,
            [item for item in plan.evidence_sent if item[2] in sent_blobs],
            "sent in bundle",
            offices,
        )
        audit.append(
            conn,
            ws.author,
            "bundle exported",
            result.bundle_id,
            {**summary, "recipients": [p.peer_id for p in result.recipients]},
        )


def record_handoff(
    ws: Workspace, evidence: Sequence[tuple[str, str, str]], event: str, other_office: str
) -> None:
    """One custody event per evidence item (case id, evidence id, sha256) that changed
    hands in a bundle, one changeset per case; inside the caller's transaction. An event
    the offices would hold back (a partner's custody of an item not released to it) is
    not recorded: it would only travel back and forth."""
    by_case: dict[str, list[Draft]] = {}
    for case_id, evidence_id, sha in evidence:
        if not may_record_custody(ws, case_id, evidence_id, event):
            continue
        draft = _custody_draft(ws, case_id, evidence_id, sha, event, other_office)
        by_case.setdefault(case_id, []).append(draft)
    for case_id, drafts in by_case.items():
        ws.commit(case_id, drafts, audit_action="custody", automatic=True)


def _custody_draft(
    ws: Workspace, case_id: str, evidence_id: str, sha: str, event: str, other: str
) -> Draft:
    sent = event == "sent in bundle"
    return Draft(
        "custody",
        new_id(),
        "create",
        {
            "case_id": case_id,
            "evidence_id": evidence_id,
            "event": event,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "actor": ws.author,
            "office": ws.office_name,
            "from_holder": ws.office_name if sent else other,
            "to_holder": other if sent else ws.office_name,
            "medium": "usb",
            "hash_seen": sha,
            "result": "encrypted bundle" if sent else "verified on import",
        },
    )
