"""What each role may do in its own office, decided locally and refused with a sentence.

The rules are few and written out here so that a reader can check them against the office's
practice in one place. A refusal is itself recorded in the audit chain (who tried what), so
a supervisor reviewing the log sees attempts as well as acts.

These checks protect against mistakes and against a colleague stepping out of their role in
the application. They are not a wall against a user who copies the database key out of a
running process: every user's slot opens the same key (issue 13's design), so what the
office's peers accept is decided from signed history, not from these checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.errors import StorageError
from storage.users import INVESTIGATOR, IT, PROTECTION_OFFICER, ROLE_WORDS, SUPERVISOR

if TYPE_CHECKING:
    from storage.connection import Connection
    from storage.workspace import Draft, Workspace


@dataclass(frozen=True)
class Action:
    """Something only some roles may do; `words` completes "only a … may"."""

    name: str
    roles: tuple[str, ...]


RECORD = Action("record", (INVESTIGATOR, PROTECTION_OFFICER, SUPERVISOR))
REVEAL_IDENTITY = Action("reveal identity", (PROTECTION_OFFICER,))
CHANGE_PROTECTION = Action("change protection", (PROTECTION_OFFICER,))
APPROVE_RELEASE = Action("approve release", (SUPERVISOR,))
MANAGE_PEERS = Action("manage peers", (SUPERVISOR,))
MANAGE_USERS = Action("manage users", (SUPERVISOR,))
MANAGE_KEYS = Action("manage keys", (SUPERVISOR,))

ALL_ACTIONS = (
    RECORD,
    REVEAL_IDENTITY,
    CHANGE_PROTECTION,
    APPROVE_RELEASE,
    MANAGE_PEERS,
    MANAGE_USERS,
    MANAGE_KEYS,
)


class NotPermitted(StorageError):
    """The user who unlocked may not do this; the sentence says who may."""


def permitted(ws: Workspace, action: Action) -> bool:
    """True when the user who unlocked may do `action`. A workspace with no users yet
    (from before named users, until its first unlock by passphrase) allows everything;
    one opened without a user (by recovery) allows nothing that needs a role."""
    user = ws.user
    if user is None:
        return not ws.has_users
    return user.active and user.role in action.roles


def _allowed_words(action: Action) -> str:
    words = [ROLE_WORDS[role] for role in action.roles]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _article(words: str) -> str:
    return "an" if words[:1] in "aeiouAEIOU" else "a"


def _as_role(role: str) -> str:
    """A role after "is": "an investigator", "on the IT staff"."""
    if role == IT:
        return "on the IT staff"
    return f"{_article(ROLE_WORDS[role])} {ROLE_WORDS[role]}"


def who_may(action: Action, what: str) -> str:
    """Who may do `action`, as a sentence for a disabled button's tooltip: "Only a
    protection officer may reveal identities"."""
    allowed = _allowed_words(action)
    return f"Only {_article(allowed)} {allowed} may {what}."


def refusal(ws: Workspace, action: Action, what: str) -> str:
    """The sentence a person reads when `what` (such as "reveal the identity of W-03") is
    refused to them."""
    allowed = _allowed_words(action)
    user = ws.user
    if user is None:
        who = "Nobody is signed in by name (the workspace was opened by recovery)"
    else:
        who = f"{user.name} is {_as_role(user.role)} here"
    return (
        f"{who}; only {_article(allowed)} {allowed} may {what}. Nothing changed, and the"
        " attempt is recorded in the audit log."
    )


def require(ws: Workspace, action: Action, what: str) -> None:
    """Go on when the user may do `action`; otherwise record the attempt in the audit
    chain (once any transaction of the caller's has ended, so it stays when the caller's
    work is undone) and raise NotPermitted with the sentence."""
    if permitted(ws, action):
        return
    sentence = refusal(ws, action, what)
    ws.record_refusal(what, {"action": action.name})
    raise NotPermitted(sentence)


# What each kind of record is called in a refusal ("add a custody event to case …").
_NOUNS = {
    "element": "legal element",
    "evidence": "evidence item",
    "custody": "custody event",
    "consent": "consent statement",
    "trust": "key statement",
    "grant": "grant of a case",
}


def recording_words(conn: Connection, case_id: str, drafts: list[Draft]) -> str:
    """What a refused changeset tried, as words after "may": "add a person to case
    VAR-KAB-2027-0001" (its first change; the others are counted)."""
    first = drafts[0]
    row = conn.execute("SELECT reference FROM cases WHERE id = ?", (case_id,)).fetchone()
    case = f"case {row[0]}" if row else "a case"
    noun = _NOUNS.get(first.entity, first.entity)
    if first.entity == "case":
        words = "open a new case" if first.kind == "create" else f"{first.kind} {case}"
        words = words.replace("update", "change")
    elif not case_id:
        words = f"sign {_article(noun)} {noun}"
    elif first.kind == "create":
        words = f"add {_article(noun)} {noun} to {case}"
    elif first.kind == "withdraw":
        words = f"withdraw {_article(noun)} {noun} from {case}"
    else:
        words = f"change {_article(noun)} {noun} in {case}"
    more = len(drafts) - 1
    return words if not more else f"{words} (and {more} more change{'s' * (more > 1)})"
