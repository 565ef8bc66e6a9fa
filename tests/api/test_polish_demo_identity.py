"""Issue 20 polish: the demo has citizens whose national id a desk clerk checked, and one authorised person, so
the recipient check by national id or by authorisation can be tried (backend/demo/identity.py, a slice of ``seed_all``; the full demo also runs in tests/api/test_schema_fuzz.py)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.accounts import authorisations
from backend.accounts.identity_cccd import parse
from backend.db import session_factory
from backend.demo import identity
from backend.demo.identity import CITIZENS
from schemas.accounts import Citizen
from schemas.base import utcnow
from schemas.identity import AuthorisationState, AuthorisedPerson
from schemas.vntime import vn_date


async def test_the_demo_has_checked_national_ids_and_an_authorisation(engine: AsyncEngine, demo: Any) -> None:
    today = vn_date(utcnow())
    ids = [demo.citizens[i].id for i in CITIZENS]
    async with session_factory(
        engine
    )() as s:  # the slice seed_all runs after the province (tests seed only that)
        await identity.seed(s, demo)
    async with session_factory(engine)() as s:
        rows = (await s.exec(select(Citizen).where(col(Citizen.id).in_(ids)))).all()
        letters = (await s.exec(select(AuthorisedPerson).where(AuthorisedPerson.citizen_id == ids[0]))).all()
    assert len(rows) == 3
    for c in rows:
        assert c.national_id is not None and parse(c.national_id, today).number == c.national_id
        assert c.national_id_verified_at is not None and c.national_id_verified_by == demo.staff["desk02"].id
    assert len({c.national_id for c in rows}) == 3
    [letter] = letters
    assert authorisations.state_of(letter, today) == AuthorisationState.valid and letter.dossier_id is None
    assert parse(letter.national_id, today).number == letter.national_id
