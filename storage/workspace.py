"""A workspace: create, unlock, lock, change passphrase, and the one write path.

`Workspace.commit` is the only way replicated data changes locally: it stamps the ops with
the hybrid clock and per-field `prev`, signs the changeset, applies it through
`storage.apply` and records it in the audit chain, all in one transaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from storage import audit, kdf_policy, key_trust, keyfile, migrations, rekey, roles, throttle, users
from storage.apply import apply_changeset, current_op, waiting_ops
from storage.atomic import TEMP_SUFFIX, remove_interrupted_copies
from storage.blobs import BlobStore
from storage.changesets import Changeset, ChangesetId, Op, changeset_id
from storage.connection import Connection, export_copy, open_database
from storage.entities import OPEN, clean_fields, entity
from storage.epochs import fresh_epoch
from storage.errors import (
    InvalidInput,
    NotAWorkspace,
    StorageError,
    ThrottledUnlock,
    WorkspaceBusy,
    WorkspaceExists,
    WorkspaceFileError,
    WrongPassphrase,
)
from storage.hlc import HybridClock, Stamp, WallClock, system_clock_ms
from storage.identity import NodeKeys, fingerprint, generate, sign_changeset
from storage.keyfile import STANDARD_KDF, KdfParams
from storage.passphrase import check_new_passphrase, encode_passphrase
from storage.paths import WorkspacePaths
from storage.sealing import Reveal, field_class, new_reveal, sealable
from storage.text_rules import text_problem

LOCK_WAIT_SECONDS = 10.0
T = TypeVar("T")
FIRST_USER = "Supervisor"  # the first user's name when none is given
UPGRADE_AUTHOR = "Valise upgrade"  # created_by of the user a pre-users workspace becomes
KEY_TRUST_SCHEMA = 10  # the migration after which revocations are derived (key_trust)


@dataclass(frozen=True)
class Draft:
    """An op before it is stamped: what the caller wants to change."""

    entity: str
    entity_id: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    # A resolution: the author saw every value waiting in the conflict queue for these
    # fields, so the op names them all in `prev` and settles them on every node.
    resolves: bool = False


def new_id() -> str:
    """A random record id: 20 hex digits (80 bits), short enough to read, type or paste."""
    return secrets.token_hex(10)


def _acquire_lock(paths: WorkspacePaths) -> int:
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise WorkspaceBusy(paths.root) from None
            time.sleep(0.05)


def _release_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


# A check a layer above storage sets on a workspace (sync.authority.check_own_commits):
# given the changeset about to be signed, None to go ahead, else the sentence saying why
# the person may not make this change. Storage may not import sync, so it is handed in.
CommitCheck = Callable[[Connection, Changeset], "str | None"]


class Workspace:
    """An unlocked workspace: the database connection, node keys and blob store."""

    def __init__(
        self,
        paths: WorkspacePaths,
        conn: Connection,
        database_key: bytes,
        kdf: KdfParams,
        lock_fd: int,
        wall: WallClock = system_clock_ms,
        slot_tag: str | None = None,
    ) -> None:
        self.paths = paths
        self.conn = conn
        self._key = database_key
        self._kdf = kdf
        self._lock_fd = lock_fd
        self._write_lock = threading.RLock()
        self.blobs = BlobStore(paths.blobs)
        row = conn.execute(
            "SELECT signing_private, encryption_private FROM node_identity WHERE id = 1"
        ).fetchone()
        self.keys = NodeKeys(bytes(row[0]), bytes(row[1]))
        self._signer = self.keys.signer()  # rebuilt per changeset it cost more than signing
        self._origin = self.keys.origin
        self.clock = HybridClock(Stamp.parse(self.meta("hlc")), wall)
        self.commit_check: CommitCheck | None = None
        # Who unlocked: the user whose slot opened the key file (None before named users,
        # or when opened by recovery). storage.roles decides from it.
        self.user: users.User | None = users.user_for_slot(conn, slot_tag) if slot_tag else None
        # Refusals (storage.roles) made inside a transaction, audited once it has ended.
        self._refusals: list[tuple[str, dict[str, str]]] = []

    # -- metadata -------------------------------------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str:
        """A workspace setting from the `meta` table."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            if default is None:
                raise KeyError(key)
            return default
        return str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Change a setting (inside the caller's transaction when there is one)."""
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def workspace_id(self) -> str:
        """Random id binding the key file to the database."""
        return self.meta("workspace_id")

    @property
    def office_name(self) -> str:
        """The office this installation belongs to."""
        return self.meta("office_name")

    @property
    def office_code(self) -> str:
        """Short office code used in references (KAB)."""
        return self.meta("office_code")

    @property
    def author(self) -> str:
        """Who is named as author of local changesets and audit entries: the user who
        unlocked; before named users, the workspace's author setting."""
        if self.user is not None:
            return self.user.name
        return os.environ.get("VALISE_AUTHOR") or self.meta("author")

    @property
    def has_users(self) -> bool:
        """True once the office has named users (every workspace after its first unlock)."""
        return (
            self.conn.execute("SELECT 1 FROM users WHERE removed_at = '' LIMIT 1").fetchone()
            is not None
        )

    @property
    def key_costs(self) -> KdfParams:
        """The Argon2id costs new passphrase slots get: at unlock the key file's raised to
        the standard (storage.kdf_policy), at creation the costs it was made with. A slot
        being rewrapped gets the larger of its own and these (`costs_for`)."""
        return self._kdf

    def costs_for(self, current: KdfParams) -> KdfParams:
        """The costs a slot now at `current` is rewrapped with: never less than it has,
        never less than `key_costs`."""
        return kdf_policy.raised(current, self._kdf)

    @property
    def epoch(self) -> int:
        """Bumped on restore so sequence numbers are never reused."""
        return int(self.meta("epoch"))

    @property
    def awaiting_own_work(self) -> bool:
        """True after a restore from a backup until a peer has sent back every changeset of
        this office it holds: until then the work done after the backup (cases, witnesses,
        evidence and their numbers) may be missing here."""
        return bool(self.meta("restored_at", "")) and not self.meta("own_work_back_at", "")

    def start_new_epoch(self, reason: str) -> int:
        """Write from now on in a new epoch (storage.epochs): another copy of this workspace
        wrote into the present one, so its next sequence numbers may be taken. Returns it."""
        with self.transaction() as conn:
            old = self.epoch
            _, last = self._next_sequence(conn)
            new = fresh_epoch(old)
            self.set_meta("epoch", str(new))
            self.set_meta("epoch_prev", str(old))
            self.set_meta("epoch_prev_hash", last)
            detail = {"epoch": new, "previous_epoch": old, "reason": reason}
            audit.append(conn, self.author, "new epoch", "", detail)
        return new

    @property
    def origin(self) -> str:
        """This node's origin id."""
        return self._origin

    @property
    def fingerprint(self) -> str:
        """Digits people compare aloud to confirm this node's keys."""
        return fingerprint(self.keys.signing_public, self.keys.encryption_public)

    # -- transactions and the write path ---------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction; nested use joins the outer one."""
        with self._write_lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            finally:
                self._write_refusals()

    def record_refusal(self, what: str, detail: dict[str, str]) -> None:
        """Audit that `what` was refused to the user who unlocked (storage.roles). Inside
        a transaction the entry waits for it to end: the refusal undoes the transaction's
        work, but the attempt must stay in the audit chain."""
        with self._write_lock:
            if self.conn.in_transaction:
                self._refusals.append((what, detail))
                return
            self.record("refused", what, detail)

    def _write_refusals(self) -> None:
        while self._refusals:
            what, detail = self._refusals.pop(0)
            self.record("refused", what, detail)

    def next_counter(self, name: str, *, above: int = 0) -> int:
        """Increment and return a named counter (case numbers, ERNs, pseudonyms) in the
        transaction, never at or below `above`: the highest number already in use here,
        which after a restore from a backup may be beyond the counter the backup held."""
        value = max(int(self.meta(f"counter:{name}", "0")), above) + 1
        self.set_meta(f"counter:{name}", str(value))
        return value

    def commit(
        self,
        case_id: str,
        drafts: list[Draft],
        *,
        audit_action: str = "edit",
        audit_detail: dict[str, Any] | None = None,
        automatic: bool = False,
    ) -> ChangesetId:
        """Stamp, sign, apply and audit one changeset about `case_id`, all or nothing.

        Only a role that records may write (storage.roles.RECORD), so the window and the
        command line are refused alike; `automatic` is for what the application writes on
        its own (custody events as a bundle leaves or arrives, an upgrade's grants), which
        no person decides."""
        if not drafts:
            raise InvalidInput("Nothing to change.")
        if not automatic and not roles.permitted(self, roles.RECORD):
            what = roles.recording_words(self.conn, case_id, drafts)
            roles.require(self, roles.RECORD, what)
        with self.transaction() as conn:
            stamped = [self._stamp_op(conn, draft) for draft in drafts]
            ops = tuple(op for op, _ in stamped)
            reveals = {
                (index, name): reveal
                for index, (_, op_reveals) in enumerate(stamped)
                for name, reveal in op_reveals.items()
            }
            seq, prev_hash = self._next_sequence(conn)
            stamp = self.clock.now()
            changeset = Changeset(
                origin=self.origin,
                epoch=self.epoch,
                seq=seq,
                prev_hash=prev_hash,
                hlc=str(stamp),
                author=self.author,
                case_id=case_id,
                ops=ops,
            )
            if self.commit_check is not None and (refused := self.commit_check(conn, changeset)):
                raise InvalidInput(refused)  # rolls back: the transaction raised
            body = changeset.encode()
            cs_id = changeset_id(body)
            signature = sign_changeset(self._signer, body)
            apply_changeset(conn, changeset, cs_id, body, signature, reveals, own=True)
            self.set_meta("hlc", str(self.clock.last))
            detail: dict[str, Any] = {"changeset": cs_id, "ops": len(ops)}
            detail.update(audit_detail or {})
            audit.append(conn, self.author, audit_action, case_id, detail)
        return cs_id

    def _stamp_op(self, conn: Connection, draft: Draft) -> tuple[Op, dict[str, Reveal]]:
        """The op for a draft, with protected and privileged values sealed (storage.sealing)
        and their reveals returned beside it."""
        kind = entity(draft.entity)
        fields = {} if draft.kind == "withdraw" else draft.fields
        cleaned = clean_fields(kind, fields, creating=draft.kind == "create")
        prev: dict[str, str] = {}
        if draft.kind != "create":
            if draft.kind == "withdraw":  # what the withdrawer saw of every field
                watched = list(kind.fields)
            else:
                watched = [*cleaned, "withdrawn"] if "withdrawn" in kind.fields else list(cleaned)
            for name in watched:
                current = current_op(conn, draft.entity, draft.entity_id, name)
                if current:
                    prev[name] = current[0]
            # The withdrawer saw every value standing; an editor saw every withdrawal
            # standing (a withdrawal waiting in the queue is one it knew of).
            seen_all = list(watched) if draft.kind == "withdraw" else ["withdrawn"]
            for name in seen_all:
                waiting = waiting_ops(conn, draft.entity, draft.entity_id, name)
                if name in prev and waiting:
                    prev[name] = " ".join(sorted({prev[name], *waiting}))
            if draft.resolves:
                for name in cleaned:
                    prev[name] = " ".join(
                        sorted(
                            {prev[name], *waiting_ops(conn, draft.entity, draft.entity_id, name)}
                        )
                    )
        record_class = self._record_class(conn, draft, cleaned)
        reveals = {
            name: new_reveal(value)
            for name, value in cleaned.items()
            if sealable(kind, name) and field_class(kind, name, record_class) != OPEN
        }
        open_fields = {name: value for name, value in cleaned.items() if name not in reveals}
        sealed = {name: reveal.commitment() for name, reveal in reveals.items()}
        return Op(draft.entity, draft.entity_id, draft.kind, open_fields, prev, sealed), reveals

    @staticmethod
    def _record_class(conn: Connection, draft: Draft, cleaned: dict[str, Any]) -> str | None:
        """A note's class (which decides whether its text is sealed): the one being set,
        else the one it has."""
        if draft.entity != "note":
            return None
        if "class" in cleaned:
            return str(cleaned["class"])
        row = conn.execute("SELECT class FROM notes WHERE id = ?", (draft.entity_id,)).fetchone()
        return str(row[0]) if row else OPEN

    def _next_sequence(self, conn: Connection) -> tuple[int, str]:
        row = conn.execute(
            "SELECT seq, id FROM changesets WHERE origin = ? AND epoch = ?"
            " ORDER BY seq DESC LIMIT 1",
            (self.origin, self.epoch),
        ).fetchone()
        if row:
            return int(row[0]) + 1, str(row[1])
        return 1, self.meta("epoch_prev_hash", "")

    def record(self, action: str, subject: str = "", detail: object = "") -> None:
        """Add an audit entry on its own (a view, an export, a backup)."""
        with self.transaction() as conn:
            audit.append(conn, self.author, action, subject, detail)

    # -- keys ------------------------------------------------------------------------------

    def change_passphrase(
        self, new_passphrase: str, *, audit_action: str = "passphrase changed"
    ) -> None:
        """Rewrap the database key under a new passphrase for the user who unlocked (the
        database is not rewritten; other users' and recovery slots are kept). A key file
        from before named users becomes one supervisor's here (see `introduce_users`)."""
        check_new_passphrase(new_passphrase)
        if self.user is not None:
            users.set_passphrase(self, None, new_passphrase)
            return
        if self.has_users:
            raise StorageError("Say whose passphrase to set: this workspace has named users.")
        introduce_users(self, self.meta("author"), new_passphrase, audit_action)

    def write_key_file(self, change: Callable[[keyfile.KeyFile], keyfile.KeyFile]) -> None:
        """Rewrite the key file as `change` makes it from the one on disk (read again, so
        slots written since the unlock are kept; a damaged one stops the change), then note
        its new generation. The caller records what it did in the audit chain."""
        current = keyfile.read(self.paths.keyfile)
        if current.workspace_id != self.workspace_id:
            raise WorkspaceFileError(
                self.paths.keyfile, "The key file belongs to another workspace; nothing changed"
            )
        updated = change(current)
        keyfile.write(self.paths.keyfile, updated)
        with self.transaction():
            self.set_meta("key_generation", updated.generation)

    def write_key_slot(self, slot: keyfile.Slot, audit_action: str, detail: object) -> None:
        """Put `slot` in the key file in place of the one of its kind (atomically), and
        record `audit_action` in the audit chain. The key file on disk is read again, so
        slots written since the unlock are kept; one that is damaged stops the change."""
        self.write_key_file(lambda current: current.with_slot(slot))
        self.record(audit_action, "", detail)

    def seal_database_key(self, sealer: Callable[[bytes], T]) -> T:
        """Hand the database key to `sealer`, which wraps it for keeping elsewhere (a
        recovery slot, an escrow) and returns what it made; the key itself is never
        returned, so only code that seals it ever holds it outside this object."""
        if self._lock_fd < 0:
            raise StorageError("The workspace is locked.")
        return sealer(self._key)

    def holds_key(self, database_key: bytes) -> bool:
        """True when `database_key` is this workspace's key (a recovered key is checked)."""
        return secrets.compare_digest(self._key, database_key)

    def replace_keys(self, keys: NodeKeys) -> None:
        """Make `keys` this installation's identity (a rotation; sync.trust). Inside the
        caller's transaction; later changesets carry the new origin from sequence 1."""
        _store_identity(self.conn, keys, self.office_name)
        self.keys = keys
        self._signer = keys.signer()
        self._origin = keys.origin

    def anchor_key(self) -> bytes:
        """Key for sealing the audit anchor, derived from the database key."""
        return audit.anchor_key_for(self._key)

    def verify_audit(self) -> audit.AuditReport:
        """Walk the audit chain and check it against the anchored head; a chain no anchor
        vouches for (now, or at an unlock since the last re-anchoring) is unanchored."""
        key = self.anchor_key()
        unanchored = audit.recorded_unanchoring(self.conn) or audit.anchor_problem(
            self.conn, self.paths.anchor, key
        )
        return audit.verify(self.conn, audit.read_anchor(self.paths.anchor, key), unanchored)

    def reanchor_audit(self) -> None:
        """Accept the audit chain as it stands (after a person compared the workspace with
        a backup), record that in the chain, and seal its head in the anchor file."""
        with self.transaction() as conn:
            audit.reanchor(conn, self.author)
        self.write_audit_anchor()

    def write_audit_anchor(self) -> None:
        """Save the audit head outside the database."""
        seq, digest = audit.head(self.conn)
        audit.write_anchor(self.paths.anchor, self.anchor_key(), seq, digest)

    def snapshot(self, target: Path) -> list[str]:
        """Write an encrypted copy of the database (same key) to `target` and return the
        evidence files it refers to; the writer is held so the two agree."""
        with self._write_lock:
            export_copy(self.conn, target, self._key)
            return [row[0] for row in self.conn.execute("SELECT store_name FROM blobs")]

    def open_reader(self) -> Connection:
        """A second connection that may only read, for a search on another thread while
        this one writes (WAL lets a reader and the writer run side by side). Its owner
        closes it before the workspace closes; the key stays inside this object."""
        if self._lock_fd < 0:
            raise StorageError("The workspace is locked.")
        reader = open_database(self.paths.database, self._key)
        reader.execute("PRAGMA query_only = ON")
        return reader

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Anchor the audit head, close the database and release the folder lock."""
        if self._lock_fd < 0:
            return
        try:
            with contextlib.suppress(OSError):
                self.write_audit_anchor()
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
        finally:
            _release_lock(self._lock_fd)
            self._lock_fd = -1
            self._key = b""

    def close_and_then(self, action: Callable[[], None]) -> None:
        """Close the database as `close` does, run `action` while the folder lock is still
        held (a rekey replaces the database file, and no other process may open the old one
        meanwhile), then release the lock."""
        if self._lock_fd < 0:
            raise StorageError("The workspace is locked.")
        try:
            with contextlib.suppress(OSError):
                self.write_audit_anchor()
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
            action()
        finally:
            _release_lock(self._lock_fd)
            self._lock_fd = -1
            self._key = b""

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- creating and opening ------------------------------------------------------------------


def _store_identity(conn: Connection, keys: NodeKeys, office_name: str) -> None:
    """Make `keys` this installation's identity (at creation, and after a rotation) and
    know its origin; inside the caller's transaction."""
    conn.execute(
        "INSERT OR REPLACE INTO node_identity(id, signing_private, signing_public,"
        " encryption_private, encryption_public, origin, created_at) VALUES (1,?,?,?,?,?,?)",
        (
            keys.signing_private,
            keys.signing_public,
            keys.encryption_private,
            keys.encryption_public,
            keys.origin,
            datetime.now(UTC).isoformat(),
        ),
    )
    conn.execute(
        "INSERT OR IGNORE INTO origins(origin, signing_public, office_name) VALUES (?,?,?)",
        (keys.origin, keys.signing_public, office_name),
    )


def _office_code(office_name: str) -> str:
    letters = "".join(c for c in office_name.upper() if c.isalnum())
    return (letters[:3] or "OFF").ljust(3, "X")


def create_workspace(
    root: Path,
    office_name: str,
    passphrase: str,
    *,
    office_code: str | None = None,
    situation: str = "",
    author: str | None = None,
    user: str | None = None,
    kdf: KdfParams = STANDARD_KDF,
    wall: WallClock = system_clock_ms,
) -> Workspace:
    """Create a new workspace in `root` (empty or absent) and return it unlocked by its
    first user, a supervisor called `user` (else the author's name, else "Supervisor")."""
    paths = WorkspacePaths(root)
    office_name = office_name.strip()
    if not office_name or len(office_name) > 200:
        raise InvalidInput("Give the office a name (1 to 200 characters of UTF-8 text).")
    if problem := text_problem("The office name", office_name):
        raise InvalidInput(problem)
    if author is not None and len(author) > 200:
        raise InvalidInput("The author's name must be up to 200 characters of UTF-8 text.")
    if author is not None and (problem := text_problem("The author's name", author)):
        raise InvalidInput(problem)
    code = (office_code or _office_code(office_name)).strip().upper()
    if not code.isalnum() or not 2 <= len(code) <= 8 or not code.isascii():
        raise InvalidInput("The office code must be 2 to 8 letters or digits, such as KAB.")
    situation = situation.strip().upper()
    if situation and (not situation.isalnum() or len(situation) > 8 or not situation.isascii()):
        raise InvalidInput("The situation code must be up to 8 letters or digits, such as VAR.")
    first_user = users.normal_name(user or author or FIRST_USER)
    if problem := users.name_problem(first_user):
        raise InvalidInput(problem)
    check_new_passphrase(passphrase)
    if root.exists() and not root.is_dir():
        raise WorkspaceFileError(root, "This path is a file, not a folder")
    if paths.looks_like_workspace():
        raise WorkspaceExists(root)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_fd = _acquire_lock(paths)
    try:
        if paths.looks_like_workspace():  # made by another process since the check above
            raise WorkspaceExists(root)
        database_key = os.urandom(32)
        workspace_id = secrets.token_hex(16)
        sealed = keyfile.seal_for_user(
            database_key, first_user, encode_passphrase(passphrase), workspace_id, kdf
        )
        conn = open_database(paths.database, database_key, create=True)
        try:
            migrations.migrate(conn, backup=lambda _v: None)
            _initialize(conn, workspace_id, office_name, code, situation, first_user, sealed, wall)
            seq, digest = audit.head(conn)  # anchored from the start, not only at close
            audit.write_anchor(paths.anchor, audit.anchor_key_for(database_key), seq, digest)
            keyfile.write(paths.keyfile, sealed)
        except BaseException:
            conn.close()
            # No key file was written, so this half-made database could never open; it
            # would only block a corrected retry ("a workspace already exists").
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{paths.database}{suffix}").unlink(missing_ok=True)
            paths.anchor.unlink(missing_ok=True)
            raise
    except BaseException:
        _release_lock(lock_fd)
        raise
    tag = keyfile.user_tag(workspace_id, first_user)
    return Workspace(paths, conn, database_key, kdf, lock_fd, wall, slot_tag=tag)


def introduce_users(
    ws: Workspace, name: str, passphrase: str, action: str = "named users introduced"
) -> users.User:
    """Make a workspace from before named users (one passphrase) one supervisor's, called
    `name` (else "Supervisor"), whose passphrase is `passphrase`: the user is recorded first,
    then the key file's passphrase slot becomes their user slot (the recovery slot is kept).
    A crash between the two leaves the old key file, and the next unlock finishes the job
    with the user already recorded."""
    name = users.normal_name(name) or FIRST_USER
    if users.name_problem(name):
        name = FIRST_USER
    existing = [u for u in users.all_users(ws.conn) if u.created_by == UPGRADE_AUTHOR]
    if existing:
        user = existing[0]
    elif ws.has_users:
        raise StorageError(
            "This key file is from before named users, but the workspace has named users"
            " now: it is an old copy. Put back the current workspace.key, or restore a"
            " backup. Nothing changed."
        )
    else:
        with ws.transaction() as conn:
            user = users.insert_user(
                conn, ws.workspace_id, new_id(), name, users.SUPERVISOR, UPGRADE_AUTHOR
            )
            audit.append(conn, name, action, name, {"role": user.role, "user": user.id})
    slot = ws.seal_database_key(
        lambda key: keyfile.user_slot(
            key, ws.workspace_id, user.name, encode_passphrase(passphrase), ws.key_costs
        )
    )
    ws.write_key_file(lambda current: current.with_slot(slot))
    ws.user = user
    return user


def _initialize(
    conn: Connection,
    workspace_id: str,
    office_name: str,
    code: str,
    situation: str,
    first_user: str,
    sealed: keyfile.KeyFile,
    wall: WallClock,
) -> None:
    keys = generate()
    now = datetime.now(UTC).isoformat()
    conn.execute("BEGIN IMMEDIATE")
    _store_identity(conn, keys, office_name)
    settings = {
        "workspace_id": workspace_id,
        "office_name": office_name,
        "office_code": code,
        "situation": situation,
        "author": first_user,
        "epoch": "0",
        "created_at": now,
        "hlc": str(Stamp(wall(), 0)),
        "key_generation": sealed.generation,
    }
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", settings.items())
    user = users.insert_user(conn, workspace_id, new_id(), first_user, users.SUPERVISOR, first_user)
    detail = {"office": code, "first user": first_user, "role": user.role, "user": user.id}
    audit.append(conn, first_user, "workspace created", office_name, detail)
    conn.execute("COMMIT")


def open_workspace(
    root: Path,
    passphrase: str,
    *,
    user: str | None = None,
    wall: WallClock = system_clock_ms,
    now: Callable[[], float] = time.time,
    costs: kdf_policy.KdfPolicy | None = None,
) -> Workspace:
    """Unlock the workspace in `root` as `user` (a name; None when it has one user);
    wrong passphrases are counted and slowed down. A workspace from before named users
    becomes one supervisor's here (`introduce_users`, after the schema's backup).

    `costs` (default: `kdf_policy.current_policy()`) says which Argon2id costs a slot must
    have: one below its floor is refused once the passphrase is proved (WeakKeySlot,
    nothing changed, the failure not counted); the slot that opened is raised to its
    standard right after the unlock (`_raise_own_costs`)."""
    paths = WorkspacePaths(root)
    policy = costs or kdf_policy.current_policy()
    opened: list[keyfile.KeyFile] = []

    def with_passphrase(sealed: keyfile.KeyFile) -> bytes:
        attempts = throttle.load(paths.attempts, now)
        wait = attempts.wait_seconds(now())
        if wait > 0:
            raise ThrottledUnlock(wait)
        try:
            key = keyfile.unseal(sealed, encode_passphrase(passphrase), user)
        except WrongPassphrase as exc:
            failed = throttle.record_failure(paths.attempts, now)
            raise WrongPassphrase(len(failed.failures), named_user=exc.named_user) from None
        slot = keyfile.opening_slot(sealed, user)
        if slot is not None and kdf_policy.below_floor(slot.kdf, policy):
            raise kdf_policy.WeakKeySlot(slot.kdf, policy)
        opened.append(sealed)
        return key

    def slot_tag() -> str | None:
        found = keyfile.opening_slot(opened[0], user)
        return found.tag if isinstance(found, keyfile.UserSlot) else None

    ws = open_workspace_with(
        root, with_passphrase, wall=wall, now=now, opened_by=slot_tag, costs=policy
    )
    try:
        opening = keyfile.opening_slot(opened[0], user)
        current = opening.kdf if opening is not None else ws.key_costs  # it did open
        if opened[0].legacy:
            introduce_users(ws, user or ws.meta("author"), passphrase)
            _record_raised_costs(ws, current, ws.key_costs)
        else:
            _check_user(ws)
            _raise_own_costs(ws, current, passphrase)
    except BaseException:
        ws.close()
        raise
    return ws


def _raise_own_costs(ws: Workspace, current: KdfParams, passphrase: str) -> None:
    """Rewrap the unlocked user's slot, now at `current` costs, with `ws.costs_for(current)`
    when those are higher (storage.kdf_policy), and say so in the audit chain. Called
    right after an unlock, the only moment the passphrase is at hand. The unlock stands if
    the key file cannot be written (the next unlock tries again); that is audited too."""
    user = ws.user
    target = ws.costs_for(current)
    if user is None or target == current:
        return
    try:
        users.rewrap_slot(ws, user, passphrase, target)
    except (OSError, WorkspaceFileError) as exc:
        detail = {"from": kdf_policy.describe(current), "to": kdf_policy.describe(target)}
        ws.record("passphrase costs not raised", user.name, {**detail, "why": str(exc)})
        return
    _record_raised_costs(ws, current, target)


def _record_raised_costs(ws: Workspace, old: KdfParams, new: KdfParams) -> None:
    if old != new and ws.user is not None:
        detail = {"from": kdf_policy.describe(old), "to": kdf_policy.describe(new)}
        ws.record("passphrase costs raised", ws.user.name, {**detail, "user": ws.user.id})


def _check_user(ws: Workspace) -> None:
    """Refuse a slot whose user was removed, or that no user owns (a `user add` a crash
    interrupted between writing the slot and recording the user)."""
    if ws.user is None:
        raise StorageError(
            "This passphrase opens a slot of the key file that belongs to no user here (a"
            " 'user add' was interrupted). Ask a supervisor to add the user again. Nothing"
            " changed."
        )
    if not ws.user.active:
        raise users.UserRemoved(ws.user)


def open_workspace_with(
    root: Path,
    unwrap: keyfile.Unwrap,
    *,
    wall: WallClock = system_clock_ms,
    now: Callable[[], float] = time.time,
    outside_key: Callable[[], StorageError] | None = None,
    opened_by: Callable[[], str | None] | None = None,
    costs: kdf_policy.KdfPolicy | None = None,
) -> Workspace:
    """Unlock the workspace in `root` with the database key `unwrap` takes out of its key
    file (a passphrase, or storage.recovery's shares and escrow). The key is proved on the
    database itself before anything is written: the folder lock is held throughout.

    `outside_key` is given when the key does not come from the key file (an escrow): a
    database that does not open with it raises `outside_key()` rather than blaming the key
    file, and a rekey a crash interrupted is left for the next unlock with the key file
    (storage.rekey decides from the key the key file holds, which this one may not be).
    `opened_by`, called after `unwrap`, names the user slot that opened (the user).
    `costs` (default: `kdf_policy.current_policy()`) gives the standard Argon2id costs
    new and rewrapped passphrase slots get (`Workspace.key_costs`)."""
    standard = (costs or kdf_policy.current_policy()).standard
    paths = WorkspacePaths(root)
    if not root.is_dir() or not paths.looks_like_workspace():
        raise NotAWorkspace(root)
    lock_fd = _acquire_lock(paths)
    try:
        sealed = keyfile.read(paths.keyfile)
        attempts = throttle.load(paths.attempts, now)
        if attempts.clamped:
            throttle.save(paths.attempts, attempts)
        database_key = unwrap(sealed)
        if outside_key is None:  # a rekey a crash interrupted: completed or forgotten
            rekey.finish_interrupted_rekey(paths, database_key)
        try:
            conn = open_database(paths.database, database_key)
        except WorkspaceFileError:
            if outside_key is not None:
                raise outside_key() from None
            _blame_key_file_if_foreign(paths, database_key)
            raise
        try:
            _check_belongs(conn, paths, sealed)
            applied = migrations.migrate(
                conn, backup=lambda v: _pre_migration_backup(conn, paths, v, database_key)
            )
            if KEY_TRUST_SCHEMA in applied:  # revocations become derived: derive them now
                _recompute_revocations(conn)
            tag = opened_by() if opened_by is not None else None
            key_costs = kdf_policy.raised(sealed.kdf, standard)
            workspace = Workspace(paths, conn, database_key, key_costs, lock_fd, wall, slot_tag=tag)
        except BaseException:
            conn.close()
            raise
    except BaseException:
        _release_lock(lock_fd)
        raise
    _after_unlock(workspace, attempts, sealed)
    return workspace


def _recompute_revocations(conn: Connection) -> None:
    """Derive the revocations from the key statements held, once, in a transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        key_trust.recompute(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _blame_key_file_if_foreign(paths: WorkspacePaths, database_key: bytes) -> None:
    """When the database will not open, tell a foreign key file from a damaged database.

    The audit anchor beside the database is sealed with a key derived from the database key:
    if it is there and does not verify under the key we unwrapped, the key file is the
    stranger (copied from another workspace), not the database.
    """
    verdict = audit.anchor_matches(paths.anchor, audit.anchor_key_for(database_key))
    if verdict is False:
        raise WorkspaceFileError(
            paths.keyfile,
            "The key file does not belong to this workspace (it opens, but holds another "
            "workspace's key). Put back this workspace's own workspace.key, or restore a backup",
        )
    if verdict is None:
        raise WorkspaceFileError(
            paths.database,
            "The database does not open with the key in workspace.key: either that key file "
            "belongs to another workspace, or the database is damaged or truncated. Put back "
            "the right key file, or restore from a backup",
        )


def _check_belongs(conn: Connection, paths: WorkspacePaths, sealed: keyfile.KeyFile) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'workspace_id'").fetchone()
    if row is None or row[0] != sealed.workspace_id:
        raise WorkspaceFileError(
            paths.database, "The database belongs to another workspace than its key file"
        )


def _pre_migration_backup(
    conn: Connection, paths: WorkspacePaths, version: int, key: bytes
) -> None:
    paths.backups.mkdir(exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    export_copy(conn, paths.backups / f"before-schema-{version + 1}-{stamp}.db", key)


def _after_unlock(
    workspace: Workspace, attempts: throttle.UnlockAttempts, sealed: keyfile.KeyFile
) -> None:
    """Carry failed attempts into the audit chain, note a chain the anchor no longer
    vouches for, and tidy up after interrupted work."""
    with workspace.transaction() as conn:
        problem = audit.anchor_problem(conn, workspace.paths.anchor, workspace.anchor_key())
        if problem:
            audit.note_unanchored(conn, workspace.author, problem)
        for failed_at in attempts.failures:
            when = datetime.fromtimestamp(failed_at, UTC).isoformat(timespec="seconds")
            audit.append(conn, "unknown", "unlock failed", "", {"at": when})
        if workspace.meta("key_generation") != sealed.generation:
            workspace.set_meta("key_generation", sealed.generation)
            audit.append(conn, workspace.author, "passphrase changed", "", "noticed at unlock")
        known = {row[0] for row in conn.execute("SELECT store_name FROM blobs")}
    workspace.blobs.collect_orphans(known)
    _collect_stray_temp_files(workspace.paths)
    throttle.clear(workspace.paths.attempts)


def _collect_stray_temp_files(paths: WorkspacePaths) -> None:
    """Remove what a crash left in the workspace folder: temp names of atomic writes (key
    file, audit anchor, unlock record) and a backup's database export. Every one is written
    while the folder lock is held, and the caller holds it now, so none is in use."""
    for pattern in (f".*{TEMP_SUFFIX}", ".backup-*.db*"):
        for stray in paths.root.glob(pattern):
            with contextlib.suppress(OSError):
                stray.unlink()
    remove_interrupted_copies(paths.pending_copies)
