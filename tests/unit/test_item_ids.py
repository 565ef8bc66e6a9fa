"""The keyed permutation behind S10 serials: a bijection, unpredictable from the counter, check digit kept."""

import hashlib

import pytest

from backend.custody.ids import SERIALS, SerialPermutation, serial_for
from schemas import s10

KEY = hashlib.sha256(b"test key").digest()


def test_no_collisions_in_100k_allocations_and_the_inverse_undoes_it() -> None:
    perm = SerialPermutation(KEY)
    serials = [perm(n) for n in range(100_000)]
    assert len(set(serials)) == len(serials)
    assert all(0 <= s < SERIALS for s in serials)
    assert all(perm.inverse(s) == n for n, s in enumerate(serials[:5000]))


def test_cycle_walking_stays_in_range_and_inverts_near_the_top() -> None:
    """Values the network maps to 90 000 000 and up (the imports' range) walk on until they land below it."""
    perm = SerialPermutation(KEY)
    for n in range(SERIALS - 20_000, SERIALS):
        serial = perm(n)
        assert serial < SERIALS and perm.inverse(serial) == n


def test_consecutive_allocations_are_not_consecutive_serials() -> None:
    perm = SerialPermutation(KEY)
    serials = [perm(n) for n in range(1, 2001)]
    steps = [b - a for a, b in zip(serials, serials[1:], strict=False)]
    assert not any(abs(step) <= 1000 for step in steps)
    # Spread over the whole range, not clustered near the counter.
    assert max(serials) > 80_000_000 and min(serials) < 10_000_000


def test_another_key_gives_another_order() -> None:
    a, b = SerialPermutation(KEY), SerialPermutation(hashlib.sha256(b"other").digest())
    assert sum(a(n) == b(n) for n in range(1000)) <= 1


def test_out_of_range_is_refused() -> None:
    perm = SerialPermutation(KEY)
    with pytest.raises(ValueError):
        perm(SERIALS)
    with pytest.raises(ValueError):
        perm.inverse(-1)


def test_ids_from_the_service_mapping_keep_a_valid_check_digit_and_differ_per_prefix() -> None:
    hs = [s10.make(s10.PREFIX_DOSSIER, serial_for(s10.PREFIX_DOSSIER, n)) for n in range(1, 200)]
    kq = [serial_for(s10.PREFIX_RESULT, n) for n in range(1, 200)]
    assert all(s10.is_valid(i) and s10.parse(i).ours for i in hs)
    assert [int(i[2:10]) for i in hs] != kq
    assert len(set(hs)) == len(hs)
