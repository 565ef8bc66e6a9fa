"""Tracking links' pure parts (backend/planning/tracking_link.py): the token (sign, verify, every tampering
refused, one spelling per token, keys apart) and the ~100 m grid the courier's position is snapped to."""

import base64
import math
import random
import string

from backend.planning import tracking_link as tl

KEY = tl.link_key("test-secret-" + "x" * 32)
ALPHABET = string.ascii_letters + string.digits + "-_"


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance: exact enough over a few hundred metres."""
    mean = math.radians((a[0] + b[0]) / 2)
    return math.hypot((a[0] - b[0]) * tl.M_PER_DEG_LAT, (a[1] - b[1]) * tl.M_PER_DEG_LAT * math.cos(mean))


def test_a_token_is_22_url_safe_characters_and_verifies_to_its_link() -> None:
    for _ in range(200):
        link_id = tl.new_link_id()
        token = tl.sign(KEY, link_id)
        assert len(link_id) == 8 and len(token) == 22
        assert set(token) <= set(ALPHABET)
        assert token.startswith(link_id)
        assert tl.verify(KEY, token) == link_id


def test_every_changed_character_is_refused() -> None:
    token = tl.sign(KEY, tl.new_link_id())
    refused = 0
    for i, original in enumerate(token):
        for c in ALPHABET:
            if c == original:
                continue
            assert tl.verify(KEY, token[:i] + c + token[i + 1 :]) is None, (i, c)
            refused += 1
    assert refused == 22 * 63


def test_other_keys_shapes_and_spellings_are_refused() -> None:
    link_id = tl.new_link_id()
    token = tl.sign(KEY, link_id)
    other = tl.link_key("another-secret-" + "y" * 32)
    assert other != KEY and tl.verify(other, token) is None
    assert tl.verify(KEY, tl.sign(other, link_id)) is None
    for bad in ("", token[:-1], token + "A", token + "==", token.replace("-", "+").replace("_", "/") + "x",
                " " + token[1:], token[:21] + "=", "A" * 22, "\x00" * 22):  # fmt: skip
        assert tl.verify(KEY, bad) is None, bad
    # The last character carries 2 bits of padding: a spelling with them set decodes to the same bytes but is
    # not the token (one spelling per token, no malleability).
    raw = base64.urlsafe_b64decode(token + "==")
    twins = [token[:21] + c for c in ALPHABET if c != token[21]]
    same_bytes = [t for t in twins if base64.urlsafe_b64decode(t + "==") == raw]
    assert same_bytes and all(tl.verify(KEY, t) is None for t in same_bytes)


def test_the_links_key_is_not_the_secret_and_depends_on_it() -> None:
    secret = "test-secret-" + "x" * 32
    assert tl.link_key(secret) != secret.encode() and len(tl.link_key(secret)) == 32
    assert tl.link_key(secret) == KEY and tl.link_key(secret + "!") != KEY


def test_guessing_is_hopeless() -> None:
    """80 bits of MAC: a million random guesses against a known link id find nothing."""
    rng = random.Random(7)
    link_id = tl.new_link_id()
    hits = sum(
        tl.verify(KEY, link_id + "".join(rng.choice(ALPHABET) for _ in range(13)) + "A") is not None
        for _ in range(20_000)
    )
    assert hits == 0


def test_positions_snap_to_the_centre_of_a_100_m_cell() -> None:
    rng = random.Random(22)
    for lat0, lon0 in ((10.46, 105.63), (21.03, 105.85), (-33.86, 151.21), (60.17, 24.94), (0.0001, -0.0001)):
        for _ in range(300):
            p = (lat0 + rng.uniform(-0.05, 0.05), lon0 + rng.uniform(-0.05, 0.05))
            c = tl.snap(*p)
            # Inside its cell: at most half a diagonal away, and the centre is its own cell's centre.
            assert _metres(p, c) <= 50 * math.sqrt(2) + 0.5, (p, c)
            assert tl.snap(*c) == c
            # The row north has its centres 100 m further north (each row's cells are 100 m of longitude at
            # its own latitude, so they are not aligned with this row's: at most half a cell east or west).
            north = tl.snap(c[0] + 100 / tl.M_PER_DEG_LAT, c[1])
            assert abs((north[0] - c[0]) * tl.M_PER_DEG_LAT - 100) < 0.2, (c, north)
            assert _metres((c[0], north[1]), c) <= 50.5, (c, north)


def test_every_point_of_a_cell_gives_the_same_answer() -> None:
    c = tl.snap(10.4602, 105.6329)
    lat_step = 100 / tl.M_PER_DEG_LAT
    lon_step = lat_step / math.cos(math.radians(c[0]))
    inside = [
        (c[0] + fy * lat_step * 0.49, c[1] + fx * lon_step * 0.49)
        for fy in (-1, -0.5, 0, 0.5, 1)
        for fx in (-1, -0.5, 0, 0.5, 1)
    ]
    assert {tl.snap(*p) for p in inside} == {c}
    # Across a boundary: another cell.
    assert tl.snap(c[0] + lat_step * 0.51, c[1]) != c and tl.snap(c[0], c[1] + lon_step * 0.51) != c
