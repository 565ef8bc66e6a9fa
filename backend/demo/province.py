"""A demo province that feels real: its 2025 communes, the provincial Public Administration Service Centre,
a commune centre per commune, agencies, a dozen post offices placed where communes cluster, couriers with
shifts, dispatchers, desk clerks, agency officers and a few hundred citizens with home addresses.

Everything is derived from the province's real communes (any province works), deterministic from a seed.
"""

import math
import random
import uuid
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.passwords import hash_password
from backend.demo.names import person, street_address
from schemas.accounts import DEFAULT_SHIFTS, Citizen, CitizenAddress, CourierProfile, StaffUser
from schemas.enums import OrgKind, Role, Vehicle
from schemas.orgs import Organisation, PostOfficeCommune
from schemas.units import Commune, Province

DEFAULT_PROVINCE = "82"  # Đồng Tháp (merged with Tiền Giang on 1 Jul 2025)
# Where the provincial centre sits when known; otherwise the ward nearest the communes' mean.
CAPITALS = {"82": "Phường Mỹ Tho", "91": "Phường Rạch Giá", "40": "Phường Trường Vinh"}
PROVINCIAL_AGENCIES = [
    ("STP", "Sở Tư pháp", "Department of Justice"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "Department of Agriculture and Environment"),
    ("SXD", "Sở Xây dựng", "Department of Construction"),
    ("SNV", "Sở Nội vụ", "Department of Home Affairs"),
    ("STC", "Sở Tài chính", "Department of Finance"),
    ("SCT", "Sở Công Thương", "Department of Industry and Trade"),
    ("SYT", "Sở Y tế", "Department of Health"),
    ("CAT", "Công an tỉnh", "Provincial Police"),
]


@dataclass
class DemoContext:
    """What the province seed made, for later domain seeds (appointments, dossiers, plans)."""

    province: Province
    capital: Commune
    communes: list[Commune]
    post_offices: list[Organisation] = field(default_factory=list)
    served: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    provincial_desk: Organisation | None = None
    commune_desks: dict[str, Organisation] = field(default_factory=dict)
    agencies: dict[str, Organisation] = field(default_factory=dict)
    people_committee: Organisation | None = None  # UBND tỉnh: province leadership's organisation
    staff: dict[str, StaffUser] = field(default_factory=dict)
    citizens: list[Citizen] = field(default_factory=list)
    addresses: dict[uuid.UUID, CitizenAddress] = field(default_factory=dict)
    seed: int = 7


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 50) -> np.ndarray:
    centres = points[rng.choice(len(points), size=k, replace=False)]
    for _ in range(iters):
        labels = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        new = np.array([points[labels == j].mean(0) if np.any(labels == j) else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)


def _jitter(rng: random.Random, lat: float, lon: float, radius_km: float) -> tuple[float, float]:
    r = radius_km * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    return (
        round(lat + (r * math.cos(a)) / 111.0, 6),
        round(lon + (r * math.sin(a)) / (111.0 * math.cos(math.radians(lat))), 6),
    )


def _org(
    code: str, kind: OrgKind, name: str, name_en: str, commune: Commune, lat: float, lon: float
) -> Organisation:
    return Organisation(
        code=code,
        kind=kind,
        name=name,
        name_en=name_en,
        commune_code=commune.code,
        province_code=commune.province_code,
        lat=lat,
        lon=lon,
        address=f"{commune.name}",
    )


async def seed_province(
    session: AsyncSession,
    *,
    province_code: str = DEFAULT_PROVINCE,
    password: str,
    post_offices: int = 12,
    couriers_per_office: int = 2,
    citizens: int = 320,
    seed: int = 7,
) -> DemoContext:
    # One generator through every step, in this order: the same seed gives the same province.
    rng = random.Random(seed)
    ctx = await province_context(session, province_code, seed)
    _seed_desks_and_agencies(session, ctx, rng)
    await _seed_post_offices(session, ctx, rng, post_offices)
    await _seed_staff(session, ctx, rng, hash_password(password), couriers_per_office)
    await _seed_citizens(session, ctx, rng, citizens)
    await session.flush()
    return ctx


async def province_context(session: AsyncSession, province_code: str, seed: int = 7) -> DemoContext:
    """The province, its communes and where its provincial centre sits."""
    province = await session.get(Province, province_code)
    if province is None:
        raise ValueError(f"unknown province {province_code}; load reference data first")
    communes = list(
        (
            await session.exec(
                select(Commune).where(Commune.province_code == province_code).order_by(Commune.code)
            )
        ).all()
    )
    wards = [c for c in communes if c.kind == "Phường"] or communes
    mean_lat = sum(c.lat for c in communes) / len(communes)
    mean_lon = sum(c.lon for c in communes) / len(communes)
    capital = next(
        (c for c in communes if c.name == CAPITALS.get(province_code)),
        min(wards, key=lambda c: (c.lat - mean_lat) ** 2 + (c.lon - mean_lon) ** 2),
    )
    return DemoContext(province=province, capital=capital, communes=communes, seed=seed)


def _seed_desks_and_agencies(session: AsyncSession, ctx: DemoContext, rng: random.Random) -> None:
    """One-stop desks: the provincial centre and a centre per commune (Decree 118/2025/NĐ-CP art. 7); each
    commune's People's Committee and the provincial departments as agencies."""
    province, capital, code = ctx.province, ctx.capital, ctx.province.code
    ctx.provincial_desk = _org(
        f"{code}-TTPVHCC",
        OrgKind.desk,
        f"Trung tâm Phục vụ hành chính công {province.name.replace('Tỉnh ', 'tỉnh ')}",
        f"Public Administration Service Centre of {province.short_name}",
        capital,
        capital.lat + 0.002,
        capital.lon + 0.002,
    )
    session.add(ctx.provincial_desk)
    for c in ctx.communes:
        desk = _org(
            f"{code}-MC-{c.code}",
            OrgKind.desk,
            f"Trung tâm Phục vụ hành chính công {c.name}",
            f"One-stop centre of {c.name}",
            c,
            c.lat,
            c.lon,
        )
        agency = _org(
            f"{code}-UB-{c.code}",
            OrgKind.agency,
            f"Ủy ban nhân dân {c.name}",
            f"People's Committee of {c.name}",
            c,
            c.lat + 0.0005,
            c.lon + 0.0005,
        )
        session.add_all([desk, agency])
        ctx.commune_desks[c.code] = desk
        ctx.agencies[c.code] = agency
    # The provincial People's Committee: province leadership's accounts belong to it (issue 23).
    ctx.people_committee = _org(
        f"{code}-UBND",
        OrgKind.agency,
        f"Ủy ban nhân dân {province.name.replace('Tỉnh ', 'tỉnh ')}",
        f"People's Committee of {province.short_name}",
        capital,
        capital.lat - 0.002,
        capital.lon - 0.002,
    )
    session.add(ctx.people_committee)
    for abbr, name, name_en in PROVINCIAL_AGENCIES:
        lat, lon = _jitter(rng, capital.lat, capital.lon, 1.5)
        org = _org(
            f"{code}-{abbr}", OrgKind.agency, f"{name} {province.short_name}", name_en, capital, lat, lon
        )
        session.add(org)
        ctx.agencies[abbr] = org


async def _seed_post_offices(session: AsyncSession, ctx: DemoContext, rng: random.Random, count: int) -> None:
    """Post offices where communes cluster; each serves the communes of its cluster."""
    communes = ctx.communes
    points = np.array([[c.lat, c.lon * math.cos(math.radians(c.lat))] for c in communes])
    k = min(count, len(communes))
    labels = _kmeans(points, k, np.random.default_rng(ctx.seed))
    for j in range(k):
        members = [c for c, lab in zip(communes, labels, strict=True) if lab == j]
        if not members:
            continue
        centre = np.mean([[c.lat, c.lon] for c in members], axis=0)
        home = min(members, key=lambda c: (c.lat - centre[0]) ** 2 + (c.lon - centre[1]) ** 2)
        lat, lon = _jitter(rng, home.lat, home.lon, 0.4)
        po = _org(
            f"{ctx.province.code}-BD-{len(ctx.post_offices) + 1:02d}",
            OrgKind.post_office,
            f"Bưu điện {home.name}",
            f"{home.short_name} post office",
            home,
            lat,
            lon,
        )
        po.opening_hours = {**po.opening_hours, "6": [["07:30", "11:30"]]}
        session.add(po)
        ctx.post_offices.append(po)
        ctx.served[po.id] = [c.code for c in members]
    await session.flush()
    for po in ctx.post_offices:
        session.add_all(
            PostOfficeCommune(post_office_id=po.id, commune_code=code) for code in ctx.served[po.id]
        )


async def _seed_staff(
    session: AsyncSession, ctx: DemoContext, rng: random.Random, pwd: str, couriers_per_office: int
) -> None:
    """Staff accounts named by role and number (README lists them); one password hash for every demo account:
    they share DEMO_PASSWORD anyway."""

    def staff(username: str, role: Role, org: Organisation | None) -> StaffUser:
        user = StaffUser(
            username=username,
            password_hash=pwd,
            role=role,
            organisation_id=org.id if org else None,
            full_name=person(rng),
            phone=f"+8491{rng.randint(0, 9_999_999):07d}",
        )
        session.add(user)
        ctx.staff[username] = user
        return user

    staff("admin", Role.admin, None)
    n_courier = 0
    profiles = []
    for i, po in enumerate(ctx.post_offices, start=1):
        staff(f"dispatcher{i:02d}", Role.dispatcher, po)
        for _ in range(couriers_per_office):
            n_courier += 1
            user = staff(f"courier{n_courier:02d}", Role.courier, po)
            profiles.append(_courier_profile(user, po, assisted=n_courier % 2 == 1))
    await session.flush()  # the accounts before their profiles (no ORM relationship orders them)
    session.add_all(profiles)
    staff("desk01", Role.desk, ctx.provincial_desk)
    for i, po in enumerate(ctx.post_offices, start=2):
        staff(f"desk{i:02d}", Role.desk, ctx.commune_desks[po.commune_code])
    staff("agency01", Role.agency, ctx.agencies["STP"])
    staff("agency02", Role.agency, ctx.agencies["SNNMT"])
    for i, po in enumerate(ctx.post_offices, start=3):
        staff(f"agency{i:02d}", Role.agency, ctx.agencies[po.commune_code])
    # Province leadership, read-only reports (issue 23); made without the generator so the citizens after it
    # stay the same.
    assert ctx.people_committee is not None
    leader = StaffUser(
        username="leader01",
        password_hash=pwd,
        role=Role.leadership,
        organisation_id=ctx.people_committee.id,
        full_name="Lãnh đạo UBND tỉnh",
    )
    session.add(leader)
    ctx.staff["leader01"] = leader


def _courier_profile(user: StaffUser, po: Organisation, *, assisted: bool) -> CourierProfile:
    return CourierProfile(
        user_id=user.id,
        vehicle=Vehicle.motorbike,
        capacity_items=40,
        capacity_kg=30.0,
        shifts=dict(DEFAULT_SHIFTS),
        skills=["fees", "assisted"] if assisted else ["fees"],
        home_lat=po.lat,
        home_lon=po.lon,
    )


async def _seed_citizens(session: AsyncSession, ctx: DemoContext, rng: random.Random, count: int) -> None:
    """Citizens: the first 99 use the configured test numbers (+84900000001..099), the rest other numbers."""
    for n in range(1, count + 1):
        commune = rng.choice(ctx.communes)
        phone = f"+849000{n:05d}" if n < 100 else f"+8498{n:07d}"
        citizen = Citizen(phone=phone, full_name=person(rng))
        session.add(citizen)
        radius = max(0.5, math.sqrt((commune.area_km2 or 20.0) / math.pi) * 0.6)
        lat, lon = _jitter(rng, commune.lat, commune.lon, radius)
        address = CitizenAddress(
            citizen_id=citizen.id,
            address=street_address(rng, commune.name, commune.kind == "Phường"),
            commune_code=commune.code,
            lat=lat,
            lon=lon,
        )
        ctx.citizens.append(citizen)
        ctx.addresses[citizen.id] = address
    await session.flush()  # the citizens before their addresses, in one flush
    session.add_all(ctx.addresses.values())
