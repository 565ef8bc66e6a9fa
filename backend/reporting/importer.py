"""Import past dossiers from the previous one-stop system (CSV), so reports cover the years before.

Columns (header names, any order; UTF-8 with or without BOM; comma or semicolon separated):

* required: ``code`` (the old system's dossier number), ``procedure_code``, ``agency_code`` (the deciding
  agency's organisation code; may be blank when ``--org`` is that agency), ``channel`` (``direct`` | ``online`` |
  ``postal``; our own ``home_pickup`` | ``post_office`` are accepted too), ``postal_pickup`` (0|1: collected at
  the citizen's home), ``postal_return`` (0|1: result returned by post), ``received_at``, ``due_at``,
  ``resolved_at`` and ``returned_at`` (the last two may be blank: still in progress);
* optional: ``desk_code``, ``post_office_code``, ``outcome`` (approved|refused|withdrawn),
  ``paused_working_days`` (a record only: ``due_at`` must be the final appointment date, pauses included,
  as custody keeps it; see ``definitions``).

Times: ISO 8601 (``2025-03-04T09:15:00+07:00``, ``2025-03-04 09:15``) or ``04/03/2025 09:15``; without an
offset they are Vietnam time. A ``due_at`` given as a bare date means the close of office hours that day.

Channel ``postal`` becomes ``home_pickup`` when ``postal_pickup`` is 1 and ``post_office`` (handed in at a
counter) when it is 0; ``direct``/``online`` with ``postal_pickup`` 1 contradict each other and are rejected.

**All or nothing per file**: every row is validated first; if any row is bad, nothing is written and every
bad row is reported with its line number (the header is line 1) and the reason. A file whose rows were already
imported (same old ``code`` for the same agency) is rejected the same way, so importing twice is harmless.

Stored as ``Dossier`` rows: the old code in ``agency_code``, ``data = {"imported": true, "source": FILE,
"line": N}``, status ``delivered`` / ``result_ready`` / ``processing`` (custody's vocabulary). Item ids are S10 ``HS`` ids from serial
90 000 000 up (``SERIAL_START``), a range reserved for imports so they never collide with ids the custody
domain issues below it, drawn at random within it (not counting up: the tracking page is public); an advisory
lock (PostgreSQL) or the write lock (SQLite) serialises imports.
"""

import asyncio
import csv
import io
import re
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import WorkingCalendar
from backend.catalogue.calendar_service import working_calendar
from backend.custody.transitions import PORTAL_STATUS, Status
from backend.lib.problems import Problem
from backend.reporting.definitions import FIRST_DAY
from schemas import s10
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import POSTAL_CHANNELS, Channel, CustodianKind, Dossier
from schemas.enums import OrgKind
from schemas.orgs import Organisation
from schemas.vntime import from_vn_wall, vn_date

REQUIRED = (
    "code",
    "procedure_code",
    "agency_code",
    "channel",
    "postal_pickup",
    "postal_return",
    "received_at",
    "due_at",
    "resolved_at",
    "returned_at",
)
HEADER_LINE = ",".join(REQUIRED)
OPTIONAL = ("desk_code", "post_office_code", "outcome", "paused_working_days")
OUTCOMES = frozenset({"approved", "refused", "withdrawn"})
SERIAL_START = 90_000_000
IMPORT_SERIALS = 10_000_000  # 90 000 000 .. 99 999 999
MAX_ROWS = 200_000
MAX_ERRORS_SHOWN = 1000
LOCK_KEY = 0x48533930  # "HS90": PostgreSQL advisory lock for the import serial range
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


class ImportRejected(Exception):
    """The file was not imported; ``errors`` says why, by line."""

    def __init__(self, errors: list[RowError], rows: int = 0) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = sorted(errors, key=lambda e: e.line)
        self.rows = rows


@dataclass
class ImportResult:
    source: str
    rows: int
    imported: int
    dry_run: bool
    item_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "imported": self.imported,
            "dry_run": self.dry_run,
            "first_item_id": self.item_ids[0] if self.item_ids else None,
            "last_item_id": self.item_ids[-1] if self.item_ids else None,
        }


@dataclass
class Lookups:
    procedures: dict[str, uuid.UUID]
    orgs: dict[str, tuple[uuid.UUID, str]]  # code -> (id, kind)
    existing: dict[tuple[str, uuid.UUID | None], str]  # (old code, agency id) -> item id
    calendar: WorkingCalendar
    default_desk: uuid.UUID | None = None
    default_agency: tuple[str, uuid.UUID] | None = None


class RowInvalid(ValueError):
    pass


def _next_record(reader: Any, line: int) -> list[str] | None:
    """The next record, None at the end; a record the csv module cannot read (a cell past its 128 KiB limit,
    which a real dossier row never has) rejects the file with the line where the record starts."""
    try:
        return next(reader, None)  # type: ignore[no-any-return]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            kib = csv.field_size_limit() // 1024
            why = f"một ô dài quá {kib} KiB / a cell is longer than {kib} KiB"
        else:
            why = f"dòng CSV không đọc được / unreadable CSV record ({exc})"
        raise ImportRejected([RowError(line, why)]) from None


def read_rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """(line number, row) for every data row, and the rows that are not even rows (too many cells); raises
    ``ImportRejected`` when the header is unusable.

    The line number is where the record starts in the file (a quoted cell may span lines; blank lines count).
    """
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in _next_record(reader, 1) or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRejected([RowError(1, f"Thiếu cột / missing columns: {', '.join(missing)}")])
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    line = reader.line_num + 1
    while (cells := _next_record(reader, line)) is not None:
        if any(c.strip() for c in cells):
            if len(rows) >= MAX_ROWS:
                raise ImportRejected([RowError(line, f"Tệp quá {MAX_ROWS} dòng / more than {MAX_ROWS} rows")])
            if len(cells) > len(header):
                errors.append(RowError(line, f"{len(cells)} ô, tiêu đề có {len(header)} / {len(cells)} cells, "
                                             f"the header has {len(header)}"))  # fmt: skip
                line = reader.line_num + 1
                continue
            padded = [*cells, *[""] * (len(header) - len(cells))]
            rows.append((line, {h: v.strip() for h, v in zip(header, padded, strict=True)}))
        line = reader.line_num + 1
    return rows, errors


def parse_instant(value: str, *, bare_date_at_close: WorkingCalendar | None = None) -> datetime:
    """An aware UTC instant from the formats in the module docstring."""
    m = _DMY.match(value)
    if m:
        d, mo, y, hh, mm, ss = m.groups()
        try:
            local = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError as exc:
            raise RowInvalid(f"ngày giờ không tồn tại / no such date: {value!r}") from exc
        bare = hh is None
    else:
        try:
            local = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RowInvalid(f"không đọc được ngày giờ / unreadable date-time: {value!r}") from exc
        bare = len(value) == 10
    if bare and bare_date_at_close is not None:
        return bare_date_at_close.end_of_day(local.date())
    # A cell without an offset is Vietnam wall-clock time (the offices' spreadsheets); one with an offset is kept.
    return from_vn_wall(local) if local.tzinfo is None else local.astimezone(UTC)


def _flag(row: dict[str, str], name: str) -> bool:
    value = row.get(name, "")
    if value not in {"0", "1"}:
        raise RowInvalid(f"{name} phải là 0 hoặc 1 / {name} must be 0 or 1, got {value!r}")
    return value == "1"


def _org(lookups: Lookups, code: str, kind: OrgKind, column: str) -> uuid.UUID:
    found = lookups.orgs.get(code)
    if found is None:
        raise RowInvalid(f"{column}: không có tổ chức mã {code!r} / no organisation with code {code!r}")
    if found[1] != kind.value:
        raise RowInvalid(f"{column}: {code!r} không phải {kind.value} / {code!r} is not a {kind.value}")
    return found[0]


def _channel(row: dict[str, str]) -> tuple[Channel, bool]:
    raw = row["channel"].lower()
    pickup = _flag(row, "postal_pickup")
    if raw == "postal":
        return (Channel.home_pickup if pickup else Channel.post_office), True
    try:
        channel = Channel(raw)
    except ValueError:
        raise RowInvalid(
            f"channel phải là direct, online hoặc postal / channel must be direct, online or postal: {raw!r}"
        ) from None
    if channel in POSTAL_CHANNELS:
        if pickup != (channel == Channel.home_pickup):
            raise RowInvalid("postal_pickup mâu thuẫn với channel / postal_pickup contradicts channel")
        return channel, True
    if pickup:
        raise RowInvalid(
            f"hồ sơ {channel.value} không thể thu gom tại nhà / a {channel.value} dossier cannot have "
            "postal_pickup = 1"
        )
    return channel, False


def validate_row(row: dict[str, str], lookups: Lookups, now: datetime) -> dict[str, Any]:
    """The Dossier column values for one row, or ``RowInvalid`` with the first reason it cannot be stored."""
    code = row["code"]
    if not code:
        raise RowInvalid("thiếu mã hồ sơ / code is empty")
    if len(code) > 64:
        raise RowInvalid("mã hồ sơ quá 64 ký tự / code longer than 64 characters")
    procedure_id = lookups.procedures.get(row["procedure_code"])
    if procedure_id is None:
        raise RowInvalid(f"không có thủ tục mã / no procedure with code {row['procedure_code']!r}")
    agency_code = row["agency_code"]
    if lookups.default_agency is not None:
        if agency_code and agency_code != lookups.default_agency[0]:
            raise RowInvalid(
                f"agency_code {agency_code!r} khác đơn vị của tệp / differs from the file's agency "
                f"{lookups.default_agency[0]!r}"
            )
        agency_id = lookups.default_agency[1]
    elif not agency_code:
        raise RowInvalid("thiếu agency_code / agency_code is empty")
    else:
        agency_id = _org(lookups, agency_code, OrgKind.agency, "agency_code")
    desk_code = row.get("desk_code", "")
    desk_id = _org(lookups, desk_code, OrgKind.desk, "desk_code") if desk_code else lookups.default_desk
    po_code = row.get("post_office_code", "")
    post_office_id = _org(lookups, po_code, OrgKind.post_office, "post_office_code") if po_code else None
    channel, postal_pickup = _channel(row)
    postal_return = _flag(row, "postal_return")

    def instant(name: str, required: bool) -> datetime | None:
        value = row[name]
        if not value:
            if required:
                raise RowInvalid(f"thiếu {name} / {name} is empty")
            return None
        try:
            at = parse_instant(value, bare_date_at_close=lookups.calendar if name == "due_at" else None)
        except RowInvalid as exc:
            raise RowInvalid(f"{name}: {exc}") from None
        if name != "due_at" and at > now + timedelta(hours=1):
            raise RowInvalid(f"{name} ở tương lai / {name} is in the future")
        return at

    received = instant("received_at", True)
    due = instant("due_at", True)
    resolved = instant("resolved_at", False)
    returned = instant("returned_at", False)
    assert received is not None and due is not None
    if vn_date(received) < FIRST_DAY:
        raise RowInvalid("received_at trước năm 1976 / received_at is before 1976")
    if vn_date(due) < vn_date(received):
        raise RowInvalid("due_at trước ngày tiếp nhận / due_at is before received_at")
    if resolved is not None and resolved < received:
        raise RowInvalid("resolved_at trước received_at / resolved_at is before received_at")
    if returned is not None and returned < (resolved or received):
        raise RowInvalid(
            "returned_at trước khi giải quyết / returned_at is before resolved_at or received_at"
        )
    outcome = row.get("outcome", "").lower() or None
    if outcome is not None and outcome not in OUTCOMES:
        raise RowInvalid(f"outcome phải là / must be approved, refused or withdrawn: {outcome!r}")
    if outcome is not None and resolved is None and returned is None:
        raise RowInvalid("có outcome nhưng chưa giải quyết / outcome given for an unresolved dossier")
    paused_raw = row.get("paused_working_days", "") or "0"
    if not paused_raw.isdigit() or int(paused_raw) > 365:
        raise RowInvalid(f"paused_working_days phải từ 0 đến 365 / must be 0..365: {paused_raw!r}")
    # Where the paper is now: with the citizen once returned, at the desk once decided, else at the agency.
    if returned is not None:
        custodian = CustodianKind.citizen
    elif resolved is not None and desk_id is not None:
        custodian = CustodianKind.desk
    else:
        custodian = CustodianKind.agency
    # Statuses from custody's one vocabulary, so tracking and desk views read imported dossiers too.
    status = Status.delivered if returned else (Status.result_ready if resolved else Status.processing)
    return {
        "procedure_id": procedure_id,
        "channel": channel,
        "postal_pickup": postal_pickup,
        "postal_return": postal_return,
        "status": status.value,
        "portal_status": PORTAL_STATUS[status],
        "custodian_kind": custodian,
        "custodian_org_id": None if returned else (desk_id if custodian == CustodianKind.desk else agency_id),
        "post_office_id": post_office_id,
        "desk_id": desk_id,
        "agency_id": agency_id,
        "agency_code": code,
        "submitted_at": received,
        "received_at": received,
        "due_at": due,
        "paused_working_days": int(paused_raw),
        "resolved_at": resolved,
        "returned_at": returned,
        "outcome": outcome,
    }


async def _lookups(
    session: AsyncSession, rows: list[tuple[int, dict[str, str]]], org_code: str | None
) -> Lookups:
    proc_codes = sorted({r["procedure_code"] for _, r in rows})
    org_codes = sorted(
        {r.get(k, "") for _, r in rows for k in ("agency_code", "desk_code", "post_office_code")} - {""}
    )
    procedures: dict[str, uuid.UUID] = {}
    for chunk in _chunks(proc_codes):
        res = await session.exec(select(Procedure.code, Procedure.id).where(col(Procedure.code).in_(chunk)))
        procedures.update(dict(res.all()))
    orgs: dict[str, tuple[uuid.UUID, str]] = {}
    for chunk in _chunks([*org_codes, *([org_code] if org_code else [])]):
        res2 = await session.exec(
            select(Organisation.code, Organisation.id, Organisation.kind).where(
                col(Organisation.code).in_(chunk)
            )
        )
        orgs.update({c: (i, str(k)) for c, i, k in res2.all()})
    existing: dict[tuple[str, uuid.UUID | None], str] = {}
    for chunk in _chunks(sorted({r["code"] for _, r in rows})):
        res3 = await session.exec(
            select(Dossier.agency_code, Dossier.agency_id, Dossier.item_id).where(
                col(Dossier.agency_code).in_(chunk)
            )
        )
        existing.update({(c or "", a): i for c, a, i in res3.all()})
    lookups = Lookups(procedures, orgs, existing, await working_calendar(session))
    if org_code:
        found = orgs.get(org_code)
        if found is None:
            raise Problem(
                404, f"Không có tổ chức mã / no organisation with code {org_code!r}", code="not_found"
            )
        if found[1] == OrgKind.desk.value:
            lookups.default_desk = found[0]
        elif found[1] == OrgKind.agency.value:
            lookups.default_agency = (org_code, found[0])
        else:
            raise Problem(
                422,
                "org phải là bộ phận một cửa hoặc cơ quan / org must be a desk or an agency",
                code="bad_org",
            )
    return lookups


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _new_serials(session: AsyncSession, count: int) -> list[int]:
    """``count`` unused serials drawn at random from the imports' range, so imported dossiers cannot be walked
    on the public tracking page by counting up (issue 17); 409 when the range cannot hold them."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    low, high = s10.make("HS", SERIAL_START)[:10], s10.make("HS", 99_999_999)
    used = (
        await session.exec(
            select(func.count()).where(col(Dossier.item_id) >= low, col(Dossier.item_id) <= high)
        )
    ).one()
    if used + count > IMPORT_SERIALS:
        raise Problem(409, "Hết dải số hiệu cho hồ sơ nhập / import id range exhausted", code="ids_exhausted")
    chosen: set[int] = set()
    while len(chosen) < count:
        drawn = {
            SERIAL_START + secrets.randbelow(IMPORT_SERIALS) for _ in range(count - len(chosen))
        } - chosen
        by_id = {s10.make(s10.PREFIX_DOSSIER, serial): serial for serial in drawn}
        for ids in _chunks(list(by_id)):
            taken = await session.exec(select(Dossier.item_id).where(col(Dossier.item_id).in_(ids)))
            for item_id in taken:
                del by_id[item_id]
        chosen.update(by_id.values())
    return list(chosen)


async def import_dossiers(
    session: AsyncSession,
    data: bytes | str,
    *,
    source: str,
    org_code: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Validate the whole file, then store every row in one transaction (or raise ``ImportRejected``)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ImportRejected([RowError(line, "Tệp không phải UTF-8 / the file is not UTF-8")]) from None
    else:
        text = data.removeprefix("\ufeff")
    rows, errors = read_rows(text)
    total_rows = len(rows) + len(errors)  # rows with too many cells are already errors
    if not rows and not errors:
        raise ImportRejected([RowError(1, "Tệp không có dòng dữ liệu / the file has no data rows")])
    lookups = await _lookups(session, rows, org_code)
    now = utcnow()
    values: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple[str, uuid.UUID | None], int] = {}
    for line, row in rows:
        try:
            v = validate_row(row, lookups, now)
        except RowInvalid as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (v["agency_code"], v["agency_id"])
        if key in seen:
            errors.append(RowError(line, f"trùng mã với dòng {seen[key]} / same code as line {seen[key]}"))
            continue
        seen[key] = line
        if key in lookups.existing:
            errors.append(RowError(line, f"đã nhập trước đó / already imported as {lookups.existing[key]}"))
            continue
        values.append((line, v))
    if errors:
        raise ImportRejected(errors, rows=total_rows)
    result = ImportResult(source=source, rows=total_rows, imported=0, dry_run=dry_run)
    if dry_run:
        return result
    serials = await _new_serials(session, len(values))
    records = []
    for serial, (line, v) in zip(serials, values, strict=True):
        item_id = s10.make(s10.PREFIX_DOSSIER, serial)
        result.item_ids.append(item_id)
        dossier = Dossier(item_id=item_id, data={"imported": True, "source": source, "line": line}, **v)
        records.append(dossier.model_dump())
    for i in range(0, len(records), 1000):
        await session.execute(sa.insert(Dossier), records[i : i + 1000])
    await session.commit()
    result.imported = len(records)
    return result


async def _run(path: Path, data: bytes, org_code: str | None, database_url: str) -> ImportResult:
    from backend.db import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await import_dossiers(session, data, source=path.name, org_code=org_code)
    finally:
        await engine.dispose()


def main(path: str, org_code: str | None = None, *, database_url: str | None = None) -> int:
    """``python -m backend import-dossiers FILE [--org CODE]``: 0 imported, 1 rejected (errors on stderr by
    line), 2 unusable input (no such file or organisation)."""
    from backend.settings import get_settings

    file = Path(path)
    if not file.is_file():
        print(f"Không có tệp / no such file: {path}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(
            _run(file, file.read_bytes(), org_code, database_url or get_settings().database_url)
        )
    except ImportRejected as exc:
        print(
            f"Không nhập gì: {len(exc.errors)} lỗi / nothing imported: {len(exc.errors)} error(s)",
            file=sys.stderr,
        )
        for e in exc.errors[:MAX_ERRORS_SHOWN]:
            print(f"  dòng/line {e.line}: {e.reason}", file=sys.stderr)
        return 1
    except Problem as exc:
        print(exc.detail, file=sys.stderr)
        return 2
    print(
        f"Đã nhập {result.imported} hồ sơ từ {result.source} / imported {result.imported} dossiers "
        f"({result.as_json()['first_item_id']} … {result.as_json()['last_item_id']})"
    )
    return 0
