"""storage.key_trust.derive: who may revoke, retract and rotate, as a pure function.

The rules, one test each, then a property: the answer does not depend on the order the
statements arrived in (every office holding the same statements and naming the same
authorities decides the same).
"""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.identity import generate
from storage.key_trust import (
    ADVISORY,
    EFFECTIVE,
    EVERYTHING,
    IGNORED,
    NOT_HONOURED,
    RETRACT,
    RETRACTED,
    REVOKE,
    ROTATE,
    KeyStatement,
    derive,
)

US, AUTHORITY, OTHER_AUTHORITY, KABORA, NGO = (
    hashlib.sha256(name.encode()).hexdigest()
    for name in ("us", "authority", "other authority", "kabora", "ngo")
)
NAMED = {AUTHORITY, OTHER_AUTHORITY}


def statement(
    n: int,
    kind: str,
    signer: str,
    subject: str,
    *,
    at: int = 1,
    after: int = 0,
    retracts: str = "",
    new_key: str = "",
) -> KeyStatement:
    """Statement number `n` (its ref sorts by n), signed by `signer` at its changeset `at`."""
    return KeyStatement(
        ref=f"{n:064x}:0",
        signer=signer,
        position=(1, at),
        hlc=f"2026-12-07T08:00:{n:02d}",
        kind=kind,
        subject=subject,
        point=(1, after),
        reason=f"statement {n}",
        new_signing_public=new_key,
        retracts=retracts,
    )


def ref(n: int) -> str:
    return f"{n:064x}:0"


def test_a_revocation_counts_from_the_holder_us_or_an_authority_only() -> None:
    trust = derive(
        [
            statement(1, REVOKE, NGO, KABORA, after=3),
            statement(2, REVOKE, AUTHORITY, NGO, after=5),
            statement(3, REVOKE, US, AUTHORITY, after=9),
            statement(4, REVOKE, KABORA, KABORA, at=7, after=6),
        ],
        NAMED,
        {US},
    )
    assert trust.status[ref(1)] == ADVISORY
    assert [trust.status[ref(n)] for n in (2, 3, 4)] == [EFFECTIVE] * 3
    assert trust.revocations[KABORA].point == (1, 6)  # the holder's own, not the NGO's
    assert trust.revocations[NGO].point == (1, 5)
    assert trust.revocations[AUTHORITY].revoked_by == US


def test_the_earliest_revocation_point_stands() -> None:
    trust = derive(
        [
            statement(1, REVOKE, AUTHORITY, KABORA, after=8),
            statement(2, REVOKE, US, KABORA, after=4),
        ],
        NAMED,
        {US},
    )
    assert trust.revocations[KABORA].point == (1, 4)


def test_who_may_retract_what() -> None:
    revocations = [
        statement(1, REVOKE, AUTHORITY, KABORA, after=2),  # an authority's
        statement(2, REVOKE, US, NGO, after=2),  # ours
        statement(3, REVOKE, OTHER_AUTHORITY, AUTHORITY, after=2),  # about an authority
        statement(4, REVOKE, KABORA, KABORA, at=3, after=2),  # the holder's own
    ]
    retractions = [
        statement(11, RETRACT, NGO, KABORA, at=1, retracts=ref(1)),  # not an authority
        statement(12, RETRACT, AUTHORITY, NGO, at=1, retracts=ref(2)),  # ours: only we may
        statement(13, RETRACT, AUTHORITY, AUTHORITY, at=1, retracts=ref(3)),  # about itself
        statement(14, RETRACT, OTHER_AUTHORITY, KABORA, at=1, retracts=ref(4)),  # holder's
        statement(15, RETRACT, AUTHORITY, KABORA, at=1, retracts=ref(99)),  # names nothing
    ]
    trust = derive(revocations + retractions, NAMED, {US})
    assert [trust.status[ref(n)] for n in (11, 12, 13, 14, 15)] == [
        ADVISORY,
        IGNORED,
        IGNORED,
        IGNORED,
        IGNORED,
    ]
    assert {trust.status[ref(n)] for n in (1, 2, 3, 4)} == {EFFECTIVE}
    # We may retract anything; another authority may retract an authority's revocation.
    trust = derive(
        [
            *revocations,
            statement(21, RETRACT, US, KABORA, retracts=ref(4)),
            statement(22, RETRACT, OTHER_AUTHORITY, KABORA, retracts=ref(1)),
        ],
        NAMED,
        {US},
    )
    assert trust.status[ref(1)] == trust.status[ref(4)] == RETRACTED
    assert trust.retracted_by[ref(1)] == ref(22)
    assert KABORA not in trust.revocations


def test_a_retraction_signed_after_its_signer_was_revoked_does_not_count() -> None:
    """A stolen authority key retracts the revocation of a thief's key: we revoked the
    authority's key first, so the retraction does not count."""
    trust = derive(
        [
            statement(1, REVOKE, OTHER_AUTHORITY, KABORA, after=2),
            statement(2, REVOKE, US, AUTHORITY, after=5),
            statement(3, RETRACT, AUTHORITY, KABORA, at=6, retracts=ref(1)),
        ],
        NAMED,
        {US},
    )
    assert trust.status[ref(3)] == NOT_HONOURED
    assert trust.revocations[KABORA].point == (1, 2)


def test_a_rotation_counts_only_when_announced_by_the_revocation_point() -> None:
    early, late = generate(), generate()
    trust = derive(
        [
            statement(1, ROTATE, KABORA, KABORA, at=4, new_key=early.signing_public.hex()),
            statement(2, REVOKE, AUTHORITY, KABORA, after=4),
        ],
        NAMED,
        {US},
    )
    assert trust.honoured_rotations == {early.origin: KABORA}
    assert early.origin not in trust.revocations
    trust = derive(
        [
            statement(1, ROTATE, KABORA, KABORA, at=5, new_key=late.signing_public.hex()),
            statement(2, REVOKE, AUTHORITY, KABORA, after=4),
        ],
        NAMED,
        {US},
    )
    assert trust.status[ref(1)] == NOT_HONOURED
    assert trust.honoured_rotations == {}
    assert trust.revocations[late.origin].point == EVERYTHING


def test_a_rotation_retires_the_old_key_after_it() -> None:
    new = generate()
    trust = derive(
        [statement(1, ROTATE, KABORA, KABORA, at=7, new_key=new.signing_public.hex())],
        NAMED,
        {US},
    )
    assert trust.revocations[KABORA].point == (1, 7)
    assert trust.revocations[KABORA].kind == ROTATE


ORIGINS = [US, AUTHORITY, OTHER_AUTHORITY, KABORA, NGO]


@st.composite
def histories(draw: st.DrawFn) -> list[KeyStatement]:
    """A few revocations, retractions naming earlier ones, and rotations."""
    count = draw(st.integers(1, 9))
    made: list[KeyStatement] = []
    for n in range(count):
        kind = draw(st.sampled_from([REVOKE, REVOKE, RETRACT, ROTATE]))
        signer = draw(st.sampled_from(ORIGINS))
        at = draw(st.integers(1, 8))
        revocations = [s for s in made if s.kind == REVOKE]
        if kind == RETRACT and revocations:
            target = draw(st.sampled_from(revocations))
            made.append(statement(n, RETRACT, signer, target.subject, at=at, retracts=target.ref))
        elif kind == ROTATE:
            key = hashlib.sha256(f"new key {n}".encode()).hexdigest()  # any 32 bytes will do
            made.append(statement(n, ROTATE, signer, signer, at=at, new_key=key))
        else:
            subject = draw(st.sampled_from(ORIGINS))
            made.append(statement(n, REVOKE, signer, subject, at=at, after=draw(st.integers(0, 8))))
    return made


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_arrival_order(
    history: list[KeyStatement], random: object
) -> None:
    shuffled = list(history)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = derive(history, NAMED, {US}), derive(shuffled, NAMED, {US})
    assert first == second
