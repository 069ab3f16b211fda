"""The one write path: signed changesets, per-field prev, idempotent apply, strict decoding."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import canonical, cases, changesets, history, queries
from storage.apply import ApplyError, ForkDetected, SequenceGap, apply_changeset
from storage.digest import state_digest
from storage.identity import CHANGESET_DOMAIN, verify_changeset
from storage.records import Case
from storage.text_rules import refused_character
from storage.workspace import Draft, Workspace, open_workspace
from tests.conftest import PASSPHRASE


def _history(ws: Workspace) -> list[tuple[str, bytes, bytes]]:
    rows = ws.conn.execute("SELECT id, body, sig FROM changesets ORDER BY epoch, seq").fetchall()
    return [(r[0], bytes(r[1]), bytes(r[2])) for r in rows]


def _apply_all(ws: Workspace, items: list[tuple[str, bytes, bytes]]) -> None:
    with ws.transaction() as conn:
        for cs_id, body, sig in items:
            apply_changeset(conn, changesets.decode(body), cs_id, body, sig)


def test_every_change_is_a_signed_changeset_with_prev(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "First title")
    cases.update_case(ws, case_id, title="Second title")
    [first, second] = _history(ws)
    decoded = changesets.decode(second[1])
    assert decoded.seq == 2 and decoded.prev_hash == first[0]
    assert decoded.ops[0].prev["title"] == changesets.op_ref(first[0], 0)
    assert decoded.origin == ws.origin and decoded.case_id == case_id
    assert changesets.changeset_id(second[1]) == second[0]
    assert verify_changeset(ws.keys.signing_public, second[1], second[2])
    assert all(entry.signature_ok for entry in history.log(ws.conn))


def test_a_tampered_changeset_fails_its_signature(ws: Workspace) -> None:
    cases.add_case(ws, "Signed")
    _, body, sig = _history(ws)[0]
    forged = body.replace(b"Signed", b"Forged")
    assert not verify_changeset(ws.keys.signing_public, forged, sig)


def test_a_failed_write_leaves_nothing_behind(ws: Workspace) -> None:
    before = state_digest(ws.conn)
    with pytest.raises(Exception, match="status"):
        cases.add_case(ws, "Bad status", status="pending forever")
    assert state_digest(ws.conn) == before
    assert _history(ws) == []


drafts = st.lists(
    st.tuples(
        st.sampled_from(["new case", "title", "summary", "status", "note", "withdraw"]),
        st.integers(min_value=0, max_value=4),
        st.text(min_size=1, max_size=20).filter(
            lambda t: refused_character(t) is None and t.strip()
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=drafts)
def test_applying_a_history_twice_changes_nothing(
    steps: list[tuple[str, int, str]],
    template_workspace: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Replaying every changeset (twice) into a fresh copy gives the same state, and a
    second application of any changeset is a no-op."""
    import shutil

    base = tmp_path_factory.mktemp("idem")
    shutil.copytree(template_workspace, base / "a")
    shutil.copytree(template_workspace, base / "b")
    with open_workspace(base / "a", PASSPHRASE) as source:
        case_ids: list[str] = []
        for action, pick, text in steps:
            _step(source, case_ids, action, pick, text)
        items = _history(source)
        expected = state_digest(source.conn)
        with source.transaction() as conn:
            for cs_id, body, sig in items:
                assert apply_changeset(conn, changesets.decode(body), cs_id, body, sig).duplicate
        assert state_digest(source.conn) == expected
    with open_workspace(base / "b", PASSPHRASE) as replica:
        _apply_all(replica, items)
        _apply_all(replica, items)
        assert state_digest(replica.conn) == expected


def _step(ws: Workspace, case_ids: list[str], action: str, pick: int, text: str) -> None:
    if action == "new case" or not case_ids:
        case_ids.append(cases.add_case(ws, text))
        return
    case_id = case_ids[pick % len(case_ids)]
    if action in ("title", "summary"):
        cases.update_case(ws, case_id, **{action: text})
    elif action == "status":
        cases.update_case(ws, case_id, status=["open", "under review", "closed"][pick % 3])
    elif action == "note":
        cases.add_note(ws, case_id, text)
    else:
        cases.withdraw(ws, Case, case_id)


def test_a_gap_in_our_own_sequence_is_refused(ws: Workspace, tmp_path: Path) -> None:
    """Our own history has no gaps; another origin's may (we see only shared cases), and
    sync decides from what each changeset builds on whether it can be applied yet."""
    for n in range(3):
        cases.add_case(ws, f"Case {n}")
    items = _history(ws)
    for cs_id, _body, _sig in items[1:]:
        ws.conn.execute("DELETE FROM changesets WHERE id = ?", (cs_id,))
    cs_id, body, sig = items[2]
    with pytest.raises(SequenceGap), ws.transaction() as conn:
        apply_changeset(conn, changesets.decode(body), cs_id, body, sig, own=True)


def test_two_changesets_with_the_same_sequence_are_a_fork(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Original")
    _cs_id, body, sig = _history(ws)[0]
    other = changesets.decode(body)
    forged = changesets.Changeset(
        other.origin,
        other.epoch,
        other.seq,
        other.prev_hash,
        other.hlc,
        "someone else",
        case_id,
        other.ops,
    )
    forged_body = forged.encode()
    with pytest.raises(ForkDetected):
        _apply_all(ws, [(changesets.changeset_id(forged_body), forged_body, sig)])


def test_ops_outside_their_case_are_refused(ws: Workspace) -> None:
    first = cases.add_case(ws, "First")
    second = cases.add_case(ws, "Second")
    with pytest.raises(ApplyError, match="other than its changeset"):
        ws.commit(first, [Draft("note", "n" * 20, "create", {"case_id": second, "text": "x"})])


def test_concurrent_edits_keep_both_values_and_pick_the_same_winner(ws: Workspace) -> None:
    """Two edits made without seeing each other land in the conflict queue."""
    case_id = cases.add_case(ws, "Base title")
    [(create_id, _b, _s)] = _history(ws)
    base_ref = changesets.op_ref(create_id, 0)
    cases.update_case(ws, case_id, title="Edit A")
    # An edit whose author saw only the base: concurrent with Edit A.
    stale = changesets.Op("case", case_id, "update", {"title": "Edit B"}, {"title": base_ref})
    with ws.transaction() as conn:
        seq, prev_hash = ws._next_sequence(conn)
        cs = changesets.Changeset(
            ws.origin, ws.epoch, seq, prev_hash, str(ws.clock.now()), ws.author, case_id, (stale,)
        )
        body = cs.encode()
        from storage.identity import sign_changeset

        result = apply_changeset(
            conn, cs, changesets.changeset_id(body), body, sign_changeset(ws.keys, body)
        )
    assert result.conflicts == 1
    row = ws.conn.execute("SELECT shown_value, other_value FROM conflicts").fetchone()
    assert sorted(row) == ['"Edit A"', '"Edit B"']
    assert queries.get(ws.conn, Case, case_id).title == "Edit B"  # later hlc wins


@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_never_crashes(data: bytes) -> None:
    with pytest.raises(changesets.MalformedChangeset):
        changesets.decode(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_encoding_round_trips_or_refuses(value: object) -> None:
    try:
        data = canonical.encode(value)
    except canonical.CanonicalError:
        return
    assert canonical.decode(data) == value
    with pytest.raises(changesets.MalformedChangeset):
        changesets.decode(data)


@pytest.mark.parametrize(
    "hostile",
    [
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b'{"a":1.5}',
        b"[" * 100 + b"]" * 100,
        b'{"a": 1}',
        b"\xff\xfe",
        b'{"a":' + b"9" * 30 + b"}",
    ],
)
def test_canonical_decoder_refuses_hostile_json(hostile: bytes) -> None:
    with pytest.raises(canonical.CanonicalError):
        canonical.decode(hostile)


def test_canonical_decoder_refuses_an_unterminated_string_of_escapes_at_once() -> None:
    """The nesting check once re-scanned an unterminated string from each of its escaped
    quotes: 64 KB took 97 s, the 4 MiB a head allows would take days."""
    hostile = b'"' + b'\\"' * 32_000 + b"[" * 17
    started = time.perf_counter()
    with pytest.raises(canonical.CanonicalError):
        canonical.decode(hostile)
    assert time.perf_counter() - started < 5


def test_an_edit_arriving_after_the_edit_built_on_it_leaves_no_stale_conflict(
    template_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A held-back edit can be applied after a later edit built on it (both released by
    one grant, in any order). The earlier value the first edit overwrote must not come
    back as a conflict: the state is the one the causal order gives. (Found by the
    convergence machine once ungrants could outrun edits.)"""
    import shutil

    base = tmp_path_factory.mktemp("late-ancestor")
    shutil.copytree(template_workspace, base / "a")
    shutil.copytree(template_workspace, base / "b")
    with open_workspace(base / "a", PASSPHRASE) as source:
        case_id = cases.add_case(source, "Shelling of the Varosa market", "first")
        cases.update_case(source, case_id, summary="second")
        cases.update_case(source, case_id, summary="third")
        created, second, third = _history(source)
        expected = state_digest(source.conn)
    with open_workspace(base / "b", PASSPHRASE) as replica:
        _apply_all(replica, [created, third, second])
        assert queries.get(replica.conn, Case, case_id).summary == "third"
        assert not replica.conn.execute("SELECT 1 FROM conflicts WHERE status = 'open'").fetchone()
        assert state_digest(replica.conn) == expected


def test_a_withdrawal_applied_before_the_edit_it_saw_flags_nothing_once_the_edit_arrives(
    template_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A withdrawal names in its `prev` the edits its author saw; when it is applied before
    one of them (a held-back edit released late), the edit it saw must not stay flagged
    against it: in causal order it never was."""
    import shutil

    base = tmp_path_factory.mktemp("late-edit")
    shutil.copytree(template_workspace, base / "a")
    shutil.copytree(template_workspace, base / "b")
    with open_workspace(base / "a", PASSPHRASE) as source:
        case_id = cases.add_case(source, "Shelling of the Varosa market", "first")
        cases.update_case(source, case_id, title="Shelling of the market, 3 May")
        cases.withdraw(source, Case, case_id)
        created, edit, withdrawal = _history(source)
        expected = state_digest(source.conn)
    with open_workspace(base / "b", PASSPHRASE) as replica:
        _apply_all(replica, [created, withdrawal, edit])
        flags = replica.conn.execute(
            "SELECT count(*) FROM conflicts WHERE status = 'open' AND field = '(withdrawal)'"
        ).fetchone()[0]
        assert flags == 0
        assert state_digest(replica.conn) == expected


_ONE_KEY = Ed25519PrivateKey.generate()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 63), st.integers(1, 255))
def test_libsodium_and_openssl_agree_on_changeset_signatures(
    body: bytes, other: bytes, at: int, flip: int
) -> None:
    """Changeset signatures are checked with libsodium; the standalone verifier and anyone
    reading docs/bundle-format.md use an RFC 8032 verifier (OpenSSL): both accept a true
    signature, and both refuse it over another body or with a byte changed."""
    public = _ONE_KEY.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = _ONE_KEY.sign(CHANGESET_DOMAIN + body)
    public.verify(sig, CHANGESET_DOMAIN + body)  # OpenSSL accepts it
    assert verify_changeset(raw, body, sig)
    if other != body:
        assert not verify_changeset(raw, other, sig)
    bent = bytearray(sig)
    bent[at] ^= flip
    with pytest.raises(InvalidSignature):
        public.verify(bytes(bent), CHANGESET_DOMAIN + body)
    assert not verify_changeset(raw, body, bytes(bent))


@pytest.mark.parametrize(
    ("key", "sig"),
    [
        (b"", b""),
        (b"\x00" * 31, b"\x00" * 64),  # a key one byte short
        (b"\x00" * 33, b"\x00" * 64),
        (b"\x01" + b"\x00" * 31, b"\x00" * 64),  # the identity point: small order
        (b"\xff" * 32, b"\xff" * 64),  # not a point at all
        (b"\x00" * 32, b"\x00" * 63),  # a signature one byte short
        (b"\x00" * 32, b"\x00" * 65),
    ],
)
def test_a_garbage_key_or_signature_is_refused_not_raised(key: bytes, sig: bytes) -> None:
    assert not verify_changeset(key, b"{}", sig)
