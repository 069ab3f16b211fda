"""Opening a workspace, or a backup, whose passphrase is lost.

Paper shares (storage.paper_shares) open the key file's recovery slot; an escrow
(storage.escrow) holds the database key itself. Either way the recovered key is never
trusted blindly: it must open the database, whose workspace id must match the key file's
(storage.workspace.open_workspace_with), and only then is a new passphrase slot written,
keeping the recovery slot, with an audit entry naming the way in. Every refusal comes
before anything is written, so the key file and the database are as they were.

Backups use the same unwraps: storage.backup.restore_backup takes a `Recovered` in place of
the passphrase. A backup written after a set of shares holds the key file with that set's
recovery slot; the escrow opens any backup whose database has the escrowed key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage import keyfile, users
from storage.errors import RecoveryRefused
from storage.passphrase import check_new_passphrase, encode_passphrase
from storage.regular_files import FileTooLarge, NotARegularFile, read_regular
from storage.workspace import Workspace, introduce_users, open_workspace_with

SHARES = "paper shares"
ESCROW = "escrow"


@dataclass(frozen=True)
class Recovered:
    """A way in without the passphrase: how the key is unwrapped, what it is called in
    messages and the audit chain ("paper shares", "escrow"), and the passphrase to set."""

    unwrap: keyfile.Unwrap
    way: str
    new_passphrase: str
    user: str | None = None  # whose passphrase is set (None: the only user)

    def refuse_foreign_database(self, where: str) -> RecoveryRefused:
        """The sentence when the recovered key does not open the database."""
        return RecoveryRefused(
            f"The key recovered with the {self.way} does not open the database of {where}"
            " (it was rekeyed since, or the database is damaged). Nothing was changed."
        )


def recover_workspace(root: Path, recovered: Recovered) -> Workspace:
    """Open the workspace in `root` with `recovered`, prove the key on the database, set
    the new passphrase (keeping the recovery slot) and return it unlocked."""
    check_new_passphrase(recovered.new_passphrase)  # before anything is read or written
    refusal = recovered.refuse_foreign_database("this workspace")
    ws = open_workspace_with(
        root, recovered.unwrap, outside_key=(lambda: refusal) if recovered.way == ESCROW else None
    )
    try:
        _set_recovered_passphrase(ws, recovered)
    except BaseException:
        ws.close()
        raise
    return ws


def _set_recovered_passphrase(ws: Workspace, recovered: Recovered) -> None:
    """The new passphrase for the user the recovery names (or the only one), who is then
    the one unlocked. No role is asked: holding the shares or the escrow key is the
    permission. A workspace from before named users becomes that user's (a supervisor)."""
    action = f"workspace recovered with {recovered.way}"
    if not ws.has_users:
        introduce_users(ws, recovered.user or ws.meta("author"), recovered.new_passphrase, action)
        return
    target = users.recovering_user(ws.conn, recovered.user)
    slot = ws.seal_database_key(
        lambda key: keyfile.user_slot(
            key,
            ws.workspace_id,
            target.name,
            encode_passphrase(recovered.new_passphrase),
            ws.key_costs,
        )
    )
    ws.write_key_file(lambda current: current.with_slot(slot))
    ws.user = target
    ws.record(action, target.name, {"user": target.id})


def read_given_file(path: Path, limit: int, what: str) -> bytes:
    """A file a person names for recovery (`what`: "share file", "escrow file", ...): a
    regular file, not a link, of at most `limit` bytes; else a sentence naming it."""
    try:
        return read_regular(path, limit)
    except FileNotFoundError:
        raise RecoveryRefused(f"The {what} {path} does not exist.") from None
    except (NotARegularFile, FileTooLarge) as exc:
        raise RecoveryRefused(f"{exc} Give the {what} itself.") from None
    except OSError as exc:
        raise RecoveryRefused(f"The {what} {path} cannot be read ({exc.strerror}).") from None
