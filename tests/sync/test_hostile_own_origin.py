"""Attacks on the return of an office's own changesets: a peer may now send an office
changesets of the office's own origin (a workspace restored from a backup lacks them), so
a hostile peer may try to slip in changes in the office's name, or to push it into a new
epoch. Each attack: a real bundle signed by the sender's real key, refused with its
sentence, and the receiver unchanged."""

from __future__ import annotations

from storage.identity import sign_changeset
from tests.sync import test_hostile_bundles as hostile
from tests.sync.conftest import Network

# The crafting fixtures of the bundle-attack tests: a real Kabora bundle taken apart.
base = hostile.base


def test_a_change_in_our_own_name_signed_by_the_sender_is_refused(
    network: Network, base: hostile.Base
) -> None:
    liaison = network.ws[hostile.RECEIVER]
    case = base.changeset("case")
    body = hostile._altered_body(
        case.body, lambda d: d.update(origin=liaison.origin, epoch=liaison.epoch, seq=1)
    )
    forged = hostile._frame(case, body=body, sig=sign_changeset(network.ws["kabora"].keys, body))
    epoch = liaison.epoch
    report = hostile._import(
        network, hostile.craft_bundle(network, base, forged), reason="signature"
    )
    assert "has a signature that does not verify" in report.message
    assert liaison.epoch == epoch  # nobody but a copy of us can move us to a new epoch


def test_a_peer_introducing_another_key_for_our_origin_is_refused(
    network: Network, base: hostile.Base
) -> None:
    liaison, kabora = network.ws[hostile.RECEIVER], network.ws["kabora"]

    def introduce(manifest: dict[str, object]) -> None:
        manifest["introductions"] = [
            {
                "origin": liaison.origin,
                "office_name": liaison.office_name,
                "signing_public": kabora.keys.signing_public.hex(),
            }
        ]

    head = hostile.craft_bundle(network, base, b"".join(base.frames), edit=introduce)
    report = hostile._import(network, head, reason="signature")
    assert report.message == "The bundle introduces an origin with a wrong key."
