"""Demo identity (issue 20): a few citizens with a national id on file that a desk clerk checked at the counter,
and one authorised person, so the recipient check by national id or by authorisation can be tried in the demo.

Cheap: three citizens and one authorisation, through the accounts domain's own services (the same checks,
events and letter storage as the API). The numbers are well-formed CCCD numbers (Circular 59/2021/TT-BCA
art. 7: the demo province's birth-registration code, century/sex digit, year, six random digits) made up from
the demo's seed; they belong to nobody.
"""

import random
import struct
import zlib
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import authorisations, identity
from backend.accounts.identity_cccd import PROVINCES
from backend.demo.province import DemoContext
from backend.lib.auth import Principal
from backend.settings import get_settings
from schemas.base import utcnow
from schemas.enums import Role
from schemas.identity import CitizenProfileUpdate, Relationship
from schemas.vntime import vn_date

# Citizens +84900000023..025 (the demo's test numbers that no test uses): ids on file, checked by desk02.
CITIZENS = (22, 23, 24)
DESK = "desk02"


def _png() -> bytes:
    """A 1x1 PNG: the authorisation letter's stand-in photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x20\x60\x20"))
        + chunk(b"IEND", b"")
    )


def number(rng: random.Random, province_code: str) -> str:
    """A well-formed CCCD number: birth registered in ``province_code``, born 1950-2005."""
    code = f"{int(province_code):03d}"
    code = code if code in PROVINCES else "001"
    year = rng.randint(1950, 2005)
    century_sex = (0 if year < 2000 else 2) + rng.randint(0, 1)
    return f"{code}{century_sex}{year % 100:02d}{rng.randint(0, 999_999):06d}"


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    rng = random.Random(ctx.seed * 20)
    desk_user = ctx.staff[DESK]
    desk = Principal(id=desk_user.id, role=desk_user.role, org_id=desk_user.organisation_id)
    chosen = [ctx.citizens[i] for i in CITIZENS if i < len(ctx.citizens)]
    for citizen in chosen:
        me = Principal(id=citizen.id, role=Role.citizen)
        update = CitizenProfileUpdate(national_id=number(rng, ctx.province.code))
        await identity.update_profile(session, me, update, client_ip=None)  # commits, with its event
        row = await session.get_one(type(citizen), citizen.id)
        identity.mark_verified(session, desk, row, None)
        await session.commit()
    if not chosen:
        return
    owner = chosen[0]
    today = vn_date(utcnow())
    await authorisations.register(
        session,
        Principal(id=owner.id, role=Role.citizen),
        authorisations.NewAuthorisation(
            full_name="Trần Văn Bình",
            national_id=number(rng, ctx.province.code),
            relationship=Relationship.spouse,
            valid_from=today,
            valid_until=today + timedelta(days=365),
        ),
        _png(),
        get_settings().upload_dir,
        client_ip=None,
    )
