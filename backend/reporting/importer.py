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
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar_service import working_calendar
from backend.db import make_engine, session_factory
from backend.lib.problems import Problem
from backend.reporting.import_rows import Lookups, RowInvalid, validate_row
from backend.settings import get_settings
from schemas import s10
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.enums import OrgKind
from schemas.orgs import Organisation

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
SERIAL_START = 90_000_000
IMPORT_SERIALS = 10_000_000  # 90 000 000 .. 99 999 999
MAX_ROWS = 200_000
MAX_ERRORS_SHOWN = 1000
LOCK_KEY = 0x48533930  # "HS90": PostgreSQL advisory lock for the import serial range


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
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return await import_dossiers(session, data, source=path.name, org_code=org_code)
    finally:
        await engine.dispose()


def main(path: str, org_code: str | None = None, *, database_url: str | None = None) -> int:
    """``python -m backend import-dossiers FILE [--org CODE]``: 0 imported, 1 rejected (errors on stderr by
    line), 2 unusable input (no such file or organisation)."""
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
