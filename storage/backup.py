"""Backups: one file holding the encrypted database, the key file and the evidence store.

Everything inside is already ciphertext (the database under its key, the key wrapped under
the passphrase, evidence under per-file keys held in the database), so the container is a
plain tar written atomically. Restoring reads it into a staging folder beside the target,
checks every file against the manifest, unlocks it with the passphrase, starts a new epoch
(so sequence numbers are never reused) and only then moves it into place.

Every restore gets an epoch of its own, even when one backup is restored twice: two copies
that both wrote "epoch 1, changeset 1" would be a fork at every peer, and one of them would
be refused there for good. The epoch is the restore's time in seconds (so a later restore
ranks after an earlier one, which revocations "after changeset N of epoch E" rely on) with
random low bits (so two restores in the same second differ), and always above the epoch
the backup was written in (storage.epochs).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from storage import audit, kdf_policy, keyfile, migrations, users
from storage.atomic import fsync_directory, temp_name_beside
from storage.connection import Connection, open_database
from storage.epochs import fresh_epoch
from storage.errors import InvalidInput, WorkspaceExists, WorkspaceFileError
from storage.passphrase import check_new_passphrase, encode_passphrase
from storage.paths import WorkspacePaths, display_name
from storage.recovery import Recovered
from storage.workspace import Workspace

FORMAT = "valise-backup"
VERSION = 1
MANIFEST = "VALISE-BACKUP.json"
_ALLOWED = re.compile(r"^(workspace\.key|workspace\.db|blobs/[0-9a-f]{2}/[0-9a-f]{32})$")
_LIMITS = {"workspace.key": keyfile.MAX_KEYFILE_BYTES, MANIFEST: 64 << 20}
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds."""

    evidence_files: int
    bytes_written: int


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore brought back."""

    office: str
    epoch: int
    evidence_files: int


def _add_file(
    tar: tarfile.TarFile, name: str, path: Path, files: dict[str, dict[str, object]]
) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
        size = handle.tell()
        handle.seek(0)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        tar.addfile(info, handle)
    files[name] = {"size": size, "sha256": digest.hexdigest()}


def write_backup(ws: Workspace, out: Path) -> BackupSummary:
    """Write a backup of `ws` to `out` (which must not exist), atomically."""
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose a new file name for the backup.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")
    export = ws.paths.root / f".backup-{secrets.token_hex(6)}.db"
    temp = temp_name_beside(out)
    files: dict[str, dict[str, object]] = {}
    try:
        names = ws.snapshot(export)
        with (
            temp.open("xb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            _add_file(tar, "workspace.key", ws.paths.keyfile, files)
            _add_file(tar, "workspace.db", export, files)
            for name in names:
                _add_file(tar, f"blobs/{name[:2]}/{name}", ws.blobs.path_of(name), files)
            manifest = json.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "workspace_id": ws.workspace_id,
                    "office": ws.office_name,
                    "created_at": datetime.now(UTC).isoformat(),
                    "schema": migrations.latest_version(),
                    "files": files,
                },
                sort_keys=True,
            ).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, out)
        fsync_directory(out.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise WorkspaceFileError(out, f"The backup could not be written ({exc.strerror})") from None
    finally:
        export.unlink(missing_ok=True)
        temp.unlink(missing_ok=True)
    size = out.stat().st_size
    detail = {"file": display_name(out), "bytes": size, "evidence": len(names)}
    ws.record("backup written", "", detail)
    return BackupSummary(len(names), size)


def _copy_member(source: IO[bytes], target: Path, limit: int | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as out:
        for chunk in iter(lambda: source.read(COPY_CHUNK), b""):
            size += len(chunk)
            if limit is not None and size > limit:
                raise ValueError("a member is larger than allowed")
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _unpack(source: Path, staging: Path) -> dict[str, object]:
    """Stream the tar into `staging`, accepting only the names a backup can hold."""
    seen: dict[str, tuple[int, str]] = {}
    manifest: dict[str, object] | None = None
    with tarfile.open(source, mode="r|") as tar:
        for member in tar:
            name = member.name
            if name in seen or (name == MANIFEST and manifest is not None):
                raise ValueError("a file appears twice")
            if not member.isfile():
                raise ValueError("it holds something that is not a plain file")
            handle = tar.extractfile(member)
            if handle is None:
                raise ValueError("a member cannot be read")
            if name == MANIFEST:
                data = handle.read(_LIMITS[MANIFEST] + 1)
                if len(data) > _LIMITS[MANIFEST]:
                    raise ValueError("the manifest is too large")
                manifest = json.loads(data)
                continue
            if not _ALLOWED.match(name):
                raise ValueError("it holds a file a backup never contains")
            seen[name] = _copy_member(handle, staging / name, _LIMITS.get(name))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError("it has no Valise backup manifest")
    if manifest.get("version") != VERSION:
        raise ValueError("it was written by an unknown backup version")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or set(listed) != set(seen):
        raise ValueError("its files do not match its manifest (incomplete?)")
    for name, (size, digest) in seen.items():
        entry = listed[name]
        if (
            not isinstance(entry, dict)
            or entry.get("size") != size
            or entry.get("sha256") != digest
        ):
            raise ValueError(f"{name} does not match its manifest (damaged?)")
    return manifest


def restore_backup(
    source: Path,
    root: Path,
    passphrase: str = "",
    *,
    user: str | None = None,
    recovered: Recovered | None = None,
) -> RestoreSummary:
    """Restore `source` into `root`, which must hold no workspace; returns what came back.

    The backup's key is unwrapped with `passphrase` of `user` (None: its only user), or
    when the passphrase is lost with `recovered` (storage.recovery: paper shares or an
    escrow), which also sets a new passphrase in the restored key file (for the user it
    names, or the only one), keeping its recovery slot."""
    if recovered is not None:
        check_new_passphrase(recovered.new_passphrase)
    paths = WorkspacePaths(root)
    if paths.looks_like_workspace():
        raise WorkspaceExists(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WorkspaceFileError(root, "Restore needs an empty or new folder")
    if not source.is_file():
        raise WorkspaceFileError(source, "The backup file does not exist or is not a file")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.restore-{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    try:
        try:
            manifest = _unpack(source, staging)
        except (tarfile.TarError, ValueError, EOFError, UnicodeDecodeError) as exc:
            raise WorkspaceFileError(
                source, f"This is not a Valise backup, or it is damaged or incomplete: {exc}"
            ) from None
        unwrap = keyfile.passphrase_unwrap(encode_passphrase(passphrase), user)
        summary = _reopen_as_new_epoch(
            WorkspacePaths(staging), recovered.unwrap if recovered else unwrap, manifest, recovered
        )
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
        fsync_directory(root.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
        raise
    return summary


def _reopen_as_new_epoch(
    paths: WorkspacePaths,
    unwrap: keyfile.Unwrap,
    manifest: dict[str, object],
    recovered: Recovered | None,
) -> RestoreSummary:
    sealed = keyfile.read(paths.keyfile)
    key = unwrap(sealed)
    try:
        conn = open_database(paths.database, key)
    except WorkspaceFileError:
        if recovered is None:
            raise
        raise recovered.refuse_foreign_database("this backup") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if not meta.get("workspace_id") == sealed.workspace_id == manifest.get("workspace_id"):
            raise WorkspaceFileError(
                paths.database, "The backup's files belong to different workspaces"
            )
        migrations.migrate(conn, backup=lambda _v: None)
        origin = conn.execute("SELECT origin FROM node_identity").fetchone()[0]
        epoch = int(meta["epoch"])
        last = conn.execute(
            "SELECT id FROM changesets WHERE origin = ? AND epoch = ? ORDER BY seq DESC LIMIT 1",
            (origin, epoch),
        ).fetchone()
        names = [row[0] for row in conn.execute("SELECT store_name FROM blobs")]
        missing = [n for n in names if not (paths.blobs / n[:2] / n).is_file()]
        if missing:
            raise WorkspaceFileError(paths.root, f"The backup lacks {len(missing)} evidence files")
        new_epoch = fresh_epoch(epoch)
        conn.execute("BEGIN IMMEDIATE")
        settings = {
            "epoch": str(new_epoch),
            "epoch_prev": str(epoch),
            "epoch_prev_hash": last[0] if last else meta.get("epoch_prev_hash", ""),
            "restored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", settings.items())
        audit.append(
            conn,
            meta.get("author", ""),
            "restored from backup",
            "",
            {"epoch": new_epoch, "previous_epoch": epoch},
        )
        if recovered is not None:
            _set_new_passphrase(conn, paths, sealed, key, recovered, meta.get("author", ""))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # A restore is the sanctioned way back to an older database: anchor it as it is.
        seq, digest = audit.head(conn)
        audit.write_anchor(paths.anchor, audit.anchor_key_for(key), seq, digest)
    finally:
        conn.close()
    return RestoreSummary(str(meta.get("office_name", "")), new_epoch, len(names))


def _set_new_passphrase(
    conn: Connection,
    paths: WorkspacePaths,
    sealed: keyfile.KeyFile,
    key: bytes,
    recovered: Recovered,
    author: str,
) -> None:
    """Write the restored key file's new passphrase slot (in the staging folder, so a
    failure leaves nothing restored) inside the restore's transaction: the user slot of
    the user `recovered` names (or the only one), or a key file from before named users'
    one passphrase slot (it becomes a user's at the first unlock)."""
    passphrase = encode_passphrase(recovered.new_passphrase)
    costs = kdf_policy.raised(sealed.kdf, kdf_policy.current_policy().standard)
    if sealed.legacy:
        slot: keyfile.Slot = keyfile.passphrase_slot(key, sealed.workspace_id, passphrase, costs)
    else:
        target = users.recovering_user(conn, recovered.user)
        author = target.name
        slot = keyfile.user_slot(key, sealed.workspace_id, target.name, passphrase, costs)
    updated = sealed.with_slot(slot)
    keyfile.write(paths.keyfile, updated)
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('key_generation', ?)",
        (updated.generation,),
    )
    audit.append(conn, author, f"backup restored with {recovered.way}", "", "")
