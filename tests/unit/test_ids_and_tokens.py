"""Time-ordered ids and signed tokens."""

import time

import jwt
import pytest

from chirp.errors import Unauthorized, ValidationFailed
from chirp.ids import IdGenerator, id_time_ms, min_id_for_time_ms, parse_id
from chirp.tokens import Principal, TokenCodec, bearer_token

KEY_A = "a" * 40
KEY_B = "b" * 40


def test_ids_are_unique_and_increase() -> None:
    gen = IdGenerator(worker=5)
    ids = [gen.next_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_an_id_encodes_its_minting_time() -> None:
    before = int(time.time() * 1000)
    minted = IdGenerator().next_id()
    assert before - 1 <= id_time_ms(minted) <= int(time.time() * 1000) + 1
    assert min_id_for_time_ms(id_time_ms(minted)) <= minted


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "1" * 20, "١٢٣", "12 3", None])
def test_malformed_ids_are_rejected(raw: str | None) -> None:
    with pytest.raises(ValidationFailed):
        parse_id(raw)


def test_a_token_round_trips_and_carries_its_key_id() -> None:
    codec = TokenCodec({"k1": KEY_A}, ttl_s=60)
    token = codec.issue(Principal(42, "alice"))
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    assert codec.verify(token) == Principal(42, "alice")


def test_expired_tokens_are_refused() -> None:
    codec = TokenCodec({"k1": KEY_A}, ttl_s=10)
    token = codec.issue(Principal(1, "a"), now=time.time() - 60)
    with pytest.raises(Unauthorized) as err:
        codec.verify(token)
    assert err.value.code == "token_expired"


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"sub": "1", "username": "a", "iss": "chirp", "iat": 1, "exp": 2**40}, KEY_B, headers={"kid": "k1"}),
        jwt.encode({"sub": "1", "username": "a", "iss": "chirp", "iat": 1, "exp": 2**40}, None, algorithm="none"),
        "not.a.token",
        "",
    ],
    ids=["foreign-key", "alg-none", "malformed", "empty"],
)
def test_forged_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        TokenCodec({"k1": KEY_A}, ttl_s=60).verify(token)


def test_rotation_keeps_old_tokens_valid() -> None:
    old = TokenCodec({"k1": KEY_A}, ttl_s=60).issue(Principal(7, "bob"))
    rotated = TokenCodec.from_spec(f"k2:{KEY_B},k1:{KEY_A}", 60)
    assert rotated.verify(old).user_id == 7
    assert jwt.get_unverified_header(rotated.issue(Principal(7, "bob")))["kid"] == "k2"


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_bearer_header_must_hold_a_token(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token(header)
