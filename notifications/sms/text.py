"""SMS length rules: GSM-7 or UCS-2, segments, and Vietnamese without accents.

A single SMS carries 160 GSM-7 characters or 70 UCS-2 ones; a concatenated message loses 7 (GSM-7) or 3
(UCS-2) characters' room per part to the user data header, hence 153 and 67 (3GPP TS 23.038 and 23.040).
Characters of GSM-7's extension table (``^{}\\[~]|€``) take two septets. Most Vietnamese letters with accents
are not in GSM-7, and brand-name gateways price accented (UCS-2) messages higher or refuse them for some
brand names, so texts are sent unaccented unless a setting allows Unicode.
"""

import unicodedata
from dataclasses import dataclass

_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_EXTENSION = set("^{}\\[~]|€\f")


class TooLongError(ValueError):
    """The text needs more segments than allowed."""


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def is_gsm7(text: str) -> bool:
    return all(c in _BASIC or c in _EXTENSION for c in text)


def segments(text: str) -> Segments:
    if is_gsm7(text):
        units = sum(2 if c in _EXTENSION else 1 for c in text)
        single, multi, enc = 160, 153, "gsm7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, enc = 70, 67, "ucs2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(enc, units, count)


def unaccented(text: str) -> str:
    """Vietnamese without accents: ``Hồ sơ đã sẵn sàng`` → ``Ho so da san sang`` (đ/Đ are letters of their
    own, not an accented d, so NFD leaves them)."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


def fit(text: str, *, unicode: bool, max_segments: int, truncate: bool = False) -> str:
    """The text as it will be sent: unaccented unless ``unicode``, within ``max_segments`` (cut with an
    ellipsis when ``truncate``, else ``TooLongError``)."""
    out = text if unicode else unaccented(text)
    if segments(out).count <= max_segments:
        return out
    if not truncate:
        raise TooLongError(f"SMS needs {segments(out).count} segments, at most {max_segments} allowed")
    while out and segments(out + "...").count > max_segments:
        out = out[:-1]
    return out.rstrip() + "..."
