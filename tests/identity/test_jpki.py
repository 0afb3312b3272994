"""The pure JPKI signature check: chain, validity, revocation and the signed digest."""

from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st
from jpki_testca import SigningCA

from identity import jpki


def _now() -> datetime:
    # Each check is as of the moment it runs: the CRLs and cards are made at test time too.
    return datetime.now(UTC)


DATA = jpki.canonical_bytes({"procedure": "juminhyo", "answers": {"copies": 1}})


@pytest.fixture(scope="module")
def ca():
    return SigningCA()


@pytest.fixture(scope="module")
def card(ca):
    return ca.issue(
        name="山田 花子",
        address="東京都まちば市本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
    )


def _verify(ca, card, *, data=DATA, signature=None, crl="fresh", anchors=None, at=None):
    return jpki.verify(
        data=data,
        signature=card.sign(DATA) if signature is None else signature,
        certificate=card.certificate_pem.encode(),
        trust_anchors=anchors if anchors is not None else [ca.certificate],
        crl=ca.crl() if crl == "fresh" else crl,
        at=at or _now(),
    )


def test_a_good_signature_verifies_and_carries_the_four_facts(ca, card):
    result = _verify(ca, card)
    assert result.digest == jpki.digest_of(DATA)
    assert result.revocation.status == "good"
    assert result.revocation.crl_number is not None
    assert result.facts == jpki.SignerFacts(
        name="山田 花子",
        address="東京都まちば市本町3丁目5番12号",
        birth_date=date(1990, 1, 2),
        sex="female",
    )


def test_a_signature_over_other_bytes_is_tampered(ca, card):
    tampered = jpki.canonical_bytes({"procedure": "juminhyo", "answers": {"copies": 2}})
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, data=tampered)
    assert refused.value.code == jpki.TAMPERED


def test_a_changed_signature_byte_is_tampered(ca, card):
    signature = bytearray(card.sign(DATA))
    signature[-1] ^= 0x01
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, signature=bytes(signature))
    assert refused.value.code == jpki.TAMPERED


def test_an_expired_certificate_is_refused(ca):
    expired = ca.issue(
        name="期限 切子",
        address="東京都まちば市本町1番地",
        birth_date=date(1950, 5, 5),
        sex="female",
        valid_from=_now() - timedelta(days=5 * 365),
        valid_until=_now() - timedelta(days=1),
    )
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, expired)
    assert refused.value.code == jpki.EXPIRED


def test_a_certificate_not_yet_valid_is_refused(ca):
    future = ca.issue(
        name="未来 太郎",
        address="東京都まちば市本町1番地",
        birth_date=date(2000, 1, 1),
        sex="male",
        valid_from=_now() + timedelta(days=1),
    )
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, future)
    assert refused.value.code == jpki.NOT_YET_VALID


def test_a_revoked_certificate_is_refused(card):
    ca = SigningCA()
    revoked = ca.issue(
        name="失効 次郎",
        address="東京都まちば市本町2番地",
        birth_date=date(1980, 3, 3),
        sex="male",
    )
    ca.revoke(revoked)
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, revoked)
    assert refused.value.code == jpki.REVOKED


def test_revocation_after_the_signing_time_does_not_void_the_signature():
    ca = SigningCA()
    card = ca.issue(
        name="後日 失効",
        address="東京都まちば市本町2番地",
        birth_date=date(1980, 3, 3),
        sex="male",
    )
    ca.revoke(card, at=_now() + timedelta(hours=1))
    assert _verify(ca, card).revocation.status == "good"


def test_a_certificate_from_another_ca_is_untrusted(ca):
    stranger = SigningCA(name="Some Other CA")
    card = stranger.issue(
        name="他人 三郎",
        address="東京都まちば市本町2番地",
        birth_date=date(1970, 7, 7),
        sex="male",
    )
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, crl=ca.crl())
    assert refused.value.code == jpki.UNTRUSTED


def test_a_ca_with_the_same_name_but_another_key_is_untrusted(card):
    impostor = SigningCA()  # same default name, different key
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(impostor, card, anchors=[impostor.certificate], crl=impostor.crl())
    assert refused.value.code == jpki.UNTRUSTED


def test_without_a_revocation_list_nothing_is_relied_on(ca, card):
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, crl=None)
    assert refused.value.code == jpki.REVOCATION_UNKNOWN


def test_an_out_of_date_revocation_list_is_not_relied_on(ca, card):
    stale = ca.crl(this_update=_now() - timedelta(days=3), next_update=_now() - timedelta(days=1))
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, crl=stale)
    assert refused.value.code == jpki.REVOCATION_UNKNOWN


def test_a_revocation_list_signed_by_someone_else_is_not_relied_on(ca, card):
    with pytest.raises(jpki.SignatureRefused) as refused:
        _verify(ca, card, crl=SigningCA().crl())
    assert refused.value.code == jpki.REVOCATION_UNKNOWN


def test_garbage_instead_of_a_certificate_is_malformed(ca, card):
    with pytest.raises(jpki.SignatureRefused) as refused:
        jpki.verify(
            data=DATA,
            signature=card.sign(DATA),
            certificate=b"not a certificate",
            trust_anchors=[ca.certificate],
            crl=ca.crl(),
            at=_now(),
        )
    assert refused.value.code == jpki.MALFORMED


def test_a_der_certificate_is_read_as_well_as_pem(ca, card):
    result = jpki.verify(
        data=DATA,
        signature=card.sign(DATA),
        certificate=card.certificate.public_bytes(serialization.Encoding.DER),
        trust_anchors=[ca.certificate],
        crl=ca.crl(),
        at=_now(),
    )
    assert result.serial_hex == format(card.certificate.serial_number, "X")


def test_canonical_bytes_do_not_depend_on_key_order_or_spacing():
    a = jpki.canonical_bytes({"b": 1, "a": {"y": "住所", "x": [1, 2]}})
    b = jpki.canonical_bytes({"a": {"x": [1, 2], "y": "住所"}, "b": 1})
    assert a == b == '{"a":{"x":[1,2],"y":"住所"},"b":1}'.encode()


def test_canonical_bytes_refuse_floats():
    with pytest.raises(ValueError):
        jpki.canonical_bytes({"amount": 1.5})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=10,
    )
)
def test_canonical_bytes_are_stable_under_reordering(value):
    payload = {"value": value}
    reordered = {"value": _reverse_keys(value)}
    assert jpki.canonical_bytes(payload) == jpki.canonical_bytes(reordered)


def _reverse_keys(value):
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("419900102", date(1990, 1, 2)),
        ("1990-01-02", date(1990, 1, 2)),
        ("19900102", date(1990, 1, 2)),
        ("419900000", None),
        ("", None),
    ],
)
def test_birth_dates_in_jpki_and_oidc_forms(text, expected):
    assert jpki.parse_birth_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", "male"), ("2", "female"), ("3", ""), ("female", "female"), ("男", "male")],
)
def test_sex_codes(text, expected):
    assert jpki.parse_sex(text) == expected
