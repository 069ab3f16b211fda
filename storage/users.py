"""Named users of one office: who unlocked, by which slot, and with which role.

Each user has a passphrase of their own: a user slot in the key file (storage.keyfile) that
seals the one database key for them. The `users` table says who a slot belongs to and what
that person may do (storage.roles). A row is never deleted: a removed user is marked, their
slot leaves the key file, and history and the audit log keep naming them.

The order of the two writes is chosen so that a crash between them never lets in someone
who should not be: adding writes the slot first (a slot with no row opens nothing, see
`user_for_slot`), removing marks the row first (a slot left behind by a crash is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storage import audit, kdf_policy, keyfile
from storage.connection import Connection
from storage.errors import InvalidInput, NotFound, StorageError, WorkspaceFileError
from storage.keyfile import KdfParams
from storage.passphrase import check_new_passphrase, encode_passphrase
from storage.text_rules import text_problem

if TYPE_CHECKING:
    from storage.workspace import Workspace

INVESTIGATOR = "investigator"
PROTECTION_OFFICER = "protection-officer"
SUPERVISOR = "supervisor"
IT = "it"
ROLES = (INVESTIGATOR, PROTECTION_OFFICER, SUPERVISOR, IT)
ROLE_WORDS = {
    INVESTIGATOR: "investigator",
    PROTECTION_OFFICER: "protection officer",
    SUPERVISOR: "supervisor",
    IT: "IT staff",
}
MAX_NAME = 80


@dataclass(frozen=True)
class User:
    """One person who may unlock this workspace, and what they are here."""

    id: str
    name: str
    role: str
    slot_tag: str
    created_at: str
    created_by: str
    removed_at: str = ""
    removed_by: str = ""

    @property
    def active(self) -> bool:
        """False once removed: their slot is gone and a left-over one is refused."""
        return not self.removed_at

    @property
    def role_words(self) -> str:
        """The role as a person says it ("protection officer")."""
        return ROLE_WORDS[self.role]


class UserRemoved(StorageError):
    """The slot that opened belongs to a user who was removed (a crash left the slot)."""

    def __init__(self, user: User) -> None:
        super().__init__(
            f"{user.name} was removed from this workspace on {user.removed_at[:10]} by"
            f" {user.removed_by}, and can no longer unlock it. Nothing changed."
        )


_COLUMNS = "id, name, role, slot_tag, created_at, created_by, removed_at, removed_by"


def _row_user(row: tuple[object, ...]) -> User:
    return User(*(str(value) for value in row))


def name_problem(name: str) -> str:
    """Why `name` cannot be a user's name, as a sentence; '' when it can."""
    if not name.strip():
        return "Give the user a name (the one they will type to unlock)."
    if len(name) > MAX_NAME:
        return f"A user's name must be up to {MAX_NAME} characters."
    return text_problem("The user's name", name)


def normal_name(name: str) -> str:
    """The name as stored: trimmed, inner spaces single."""
    return " ".join(name.split())


def role_problem(role: str) -> str:
    """Why `role` is not a role, as a sentence naming the roles; '' when it is one."""
    if role in ROLES:
        return ""
    return f"{role!r} is not a role here. The roles are: {', '.join(ROLES)}."


def all_users(conn: Connection, *, with_removed: bool = False) -> list[User]:
    """The office's users by name (removed ones too when asked, for history)."""
    where = "" if with_removed else " WHERE removed_at = ''"
    rows = conn.execute(f"SELECT {_COLUMNS} FROM users{where} ORDER BY name_key, created_at")
    return [_row_user(row) for row in rows]


def find_user(conn: Connection, name: str) -> User:
    """The active user called `name` (any case), or NotFound with a sentence."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE name_key = ? AND removed_at = ''",
        (normal_name(name).casefold(),),
    ).fetchone()
    if row is None:
        raise InvalidInput(f"There is no user called {normal_name(name)!r} in this workspace.")
    return _row_user(row)


def user_for_slot(conn: Connection, slot_tag: str) -> User | None:
    """The user whose slot has `slot_tag` (the active one, else the latest removed)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE slot_tag = ? ORDER BY removed_at = '' DESC,"
        " created_at DESC LIMIT 1",
        (slot_tag,),
    ).fetchone()
    return None if row is None else _row_user(row)


def insert_user(
    conn: Connection, workspace_id: str, user_id: str, name: str, role: str, by: str
) -> User:
    """Record a user inside the caller's transaction (their slot is written by the caller)."""
    name = normal_name(name)
    if problem := name_problem(name) or role_problem(role):
        raise InvalidInput(problem)
    taken = conn.execute(
        "SELECT 1 FROM users WHERE name_key = ? AND removed_at = ''", (name.casefold(),)
    ).fetchone()
    if taken:
        raise InvalidInput(f"There is already a user called {name!r}. Nothing changed.")
    user = User(
        id=user_id,
        name=name,
        role=role,
        slot_tag=keyfile.user_tag(workspace_id, name),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        created_by=by,
    )
    conn.execute(
        "INSERT INTO users(id, name, name_key, role, slot_tag, created_at, created_by)"
        " VALUES (?,?,?,?,?,?,?)",
        (user.id, name, name.casefold(), role, user.slot_tag, user.created_at, by),
    )
    return user


def add_user(ws: Workspace, name: str, role: str, passphrase: str) -> User:
    """Give `name` a passphrase of their own and a role. The slot is written first, then
    the row (see the module docstring); the audit entry names who added whom, as what."""
    from storage import roles
    from storage.workspace import new_id

    roles.require(ws, roles.MANAGE_USERS, f"add the user {normal_name(name)!r}")
    name = normal_name(name)
    if problem := name_problem(name) or role_problem(role):
        raise InvalidInput(problem)
    check_new_passphrase(passphrase)
    conn = ws.conn
    if conn.execute(
        "SELECT 1 FROM users WHERE name_key = ? AND removed_at = ''", (name.casefold(),)
    ).fetchone():
        raise InvalidInput(f"There is already a user called {name!r}. Nothing changed.")
    slot = ws.seal_database_key(
        lambda key: keyfile.user_slot(
            key, ws.workspace_id, name, encode_passphrase(passphrase), ws.key_costs
        )
    )
    ws.write_key_file(lambda current: current.with_slot(slot))
    with ws.transaction():
        user = insert_user(conn, ws.workspace_id, new_id(), name, role, ws.author)
        audit.append(conn, ws.author, "user added", user.name, {"role": role, "user": user.id})
    return user


def remove_user(ws: Workspace, name: str) -> User:
    """Take away `name`'s way in: the row is marked removed first, then the slot leaves
    the key file. The last supervisor cannot be removed, nor the user who is unlocked."""
    from storage import roles

    roles.require(ws, roles.MANAGE_USERS, f"remove the user {normal_name(name)!r}")
    user = find_user(ws.conn, name)
    if ws.user is not None and user.id == ws.user.id:
        raise InvalidInput("You cannot remove yourself; another supervisor can.")
    if user.role == SUPERVISOR and _active_supervisors(ws.conn) <= 1:
        raise InvalidInput(f"{user.name} is the last supervisor; add another one first.")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with ws.transaction() as conn:
        conn.execute(
            "UPDATE users SET removed_at = ?, removed_by = ? WHERE id = ?",
            (now, ws.author, user.id),
        )
        audit.append(conn, ws.author, "user removed", user.name, {"user": user.id})
    ws.write_key_file(lambda current: current.without_user(user.slot_tag))
    return find_removed(ws.conn, user.id)


def find_removed(conn: Connection, user_id: str) -> User:
    """The user with `user_id`, removed or not."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NotFound("user", user_id)
    return _row_user(row)


def require_may_manage(ws: Workspace, what: str) -> None:
    """Refuse (audited) unless the user who unlocked may manage users; called before a
    new passphrase is asked for, so nobody types one for nothing."""
    from storage import roles

    roles.require(ws, roles.MANAGE_USERS, what)


def require_may_set_passphrase(ws: Workspace, name: str) -> None:
    """Your own passphrase you may always set; another user's needs a supervisor."""
    user = find_user(ws.conn, name)
    if ws.user is None or user.id != ws.user.id:
        require_may_manage(ws, f"set the passphrase of {user.name}")


def set_passphrase(ws: Workspace, name: str | None, new_passphrase: str) -> User:
    """A new passphrase for `name` (None: the user who unlocked). Your own you may always
    change; another user's needs a supervisor (someone who forgot theirs)."""
    from storage import roles

    check_new_passphrase(new_passphrase)
    user = ws.user if name is None else find_user(ws.conn, name)
    if user is None:
        raise InvalidInput("Say whose passphrase to set (--user NAME).")
    if ws.user is None or user.id != ws.user.id:
        roles.require(ws, roles.MANAGE_USERS, f"set the passphrase of {user.name}")
    old = keyfile.read(ws.paths.keyfile).user_slot(user.slot_tag)
    costs = ws.costs_for(old.kdf) if old is not None else ws.key_costs
    rewrap_slot(ws, user, new_passphrase, costs)
    action = "passphrase changed" if ws.user and user.id == ws.user.id else "passphrase set"
    detail: dict[str, str] = {"user": user.id}
    if old is not None and old.kdf != costs:
        detail.update(
            {"costs from": kdf_policy.describe(old.kdf), "costs to": kdf_policy.describe(costs)}
        )
    ws.record(action, user.name, detail)
    return user


def rewrap_slot(ws: Workspace, user: User, passphrase: str, costs: KdfParams) -> None:
    """Write `user`'s slot afresh: `passphrase` (new, or the one just typed at unlock)
    under Argon2id with `costs`, and the database key sealed to it. The caller audits."""
    slot = ws.seal_database_key(
        lambda key: keyfile.user_slot(
            key, ws.workspace_id, user.name, encode_passphrase(passphrase), costs
        )
    )
    if slot.tag != user.slot_tag:
        raise WorkspaceFileError(ws.paths.keyfile, "The user's slot tag does not match")
    ws.write_key_file(lambda current: current.with_slot(slot))


def _active_supervisors(conn: Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM users WHERE role = ? AND removed_at = ''", (SUPERVISOR,)
    ).fetchone()
    return int(row[0])


def recovering_user(conn: Connection, name: str | None) -> User:
    """Whose passphrase a recovery sets: the user named, or the only active user. Several
    users and no name is refused with a sentence (a recovery resets one person's way in)."""
    if name:
        return find_user(conn, name)
    active = all_users(conn)
    if len(active) == 1:
        return active[0]
    raise InvalidInput(
        "This workspace has several users: say whose passphrase the recovery sets"
        " (--user NAME or VALISE_USER). Nothing changed."
    )
