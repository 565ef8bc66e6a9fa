"""Import the national procedure catalogue from a CSV or JSON export (``POST /catalogue/procedures/import``).

All or nothing: the rows are read first (``importer_rows``, which documents the columns); any bad row rejects
the file with the errors by line and nothing is written. Then each row is compared with the procedure's
content in force at ``effective_from`` (now by default): a new code creates the procedure, a row that differs
adds a version (never edits one), an unchanged row writes nothing, so importing the same export again
changes nothing. Fees stay in ``procedure_fee`` (``tariff_admin``'s table): a row whose phí / lệ phí differ
from those in force adds a fee version. ``dry_run`` reports the same without writing. Each procedure created or
versioned writes a ``catalogue_event``, and the import one more.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import editing, editing_store, importer_rows, tariff_store
from backend.catalogue.tariff_pricing import in_force
from backend.lib.auth import Principal
from backend.lib.dates import check_days
from backend.lib.problems import Problem
from schemas.base import NAIVE_TIME, utcnow
from schemas.catalogue import Procedure
from schemas.catalogue_edits import ImportResult, ImportRowChange, ProcedureVersion
from schemas.pricing import ProcedureFee

MAX_ERRORS_SHOWN = 200


@dataclass
class ImportRejected(Exception):
    rows: int
    errors: list[importer_rows.RowError]


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["documents"] = [
        (str(d.get("name", "")), bool(d.get("original", False))) for d in values.get("documents") or []
    ]
    out["processing_days"] = float(values["processing_days"])
    out["level"] = str(values["level"])
    return out


def _diff(current: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if current is None:
        return sorted(new)
    a, b = _comparable(current), _comparable(new)
    return [n for n in editing_store.CONTENT_FIELDS if a.get(n) != b.get(n)]


async def _latest(session: AsyncSession, model: Any, code: str) -> datetime | None:
    stmt = select(func.max(model.effective_from)).where(model.procedure_code == code)
    latest: datetime | None = (await session.exec(stmt)).one()
    return latest


async def _plan(
    session: AsyncSession, parsed: importer_rows.Parsed, start: datetime
) -> tuple[
    list[tuple[ImportRowChange, dict[str, Any], tuple[int, int] | None]], list[importer_rows.RowError]
]:
    codes = [code for _, code, _, _ in parsed.rows]
    heads = {
        p.code: p for p in (await session.exec(select(Procedure).where(col(Procedure.code).in_(codes)))).all()
    }
    editing_store.invalidate()
    cat = await editing_store.catalogue(session)
    fees = in_force((await tariff_store.versions(session)).fees, lambda f: f.procedure_code, start)
    plan, errors = [], []
    for line, code, content, amounts in parsed.rows:
        values = editing.content_values(content)
        head = heads.get(code)
        current = editing_store.content_of(editing_store.version_at(cat, code, start), head, code)
        changed = _diff(dict(current.values) if current else None, values)
        fee_changed = False
        if amounts is not None:
            stored = fees.get(code)
            now_fees = (
                (stored.fee_vnd, stored.charge_vnd) if stored else ((head.fee, head.charge) if head else None)
            )
            fee_changed = now_fees != amounts
        if (changed and head is not None) or (fee_changed and head is not None):
            for model, what in ((ProcedureVersion, changed), (ProcedureFee, fee_changed)):
                latest = await _latest(session, model, code) if what else None
                if latest is not None and latest >= start:
                    errors.append(
                        importer_rows.RowError(
                            line,
                            f"đã có phiên bản từ {latest.isoformat()} / a version from {latest.isoformat()} exists",
                        )
                    )
        action = "create" if head is None else ("new_version" if changed else "unchanged")
        row = ImportRowChange(
            line=line, code=code, action=action, fields=changed if head else [], fee_changed=fee_changed
        )
        plan.append((row, values, amounts))
    return plan, errors


async def _write(
    session: AsyncSession,
    principal: Principal,
    client_ip: str | None,
    plan: list[tuple[ImportRowChange, dict[str, Any], tuple[int, int] | None]],
    start: datetime,
) -> int:
    fee_versions = 0
    for row, values, amounts in plan:
        if row.action == "create":
            fee, charge = amounts or (0, 0)
            session.add(Procedure(code=row.code, fee=fee, charge=charge, code_verified=False, **values))
            await session.flush()
        if row.action != "unchanged":
            v = await editing.new_version(session, principal, row.code, values, start, "import")
            session.add(
                editing.event(
                    principal,
                    client_ip,
                    f"procedure_{row.action}d" if row.action == "create" else "procedure_version",
                    row.code,
                    {"seq": v.seq, "line": row.line, "fields": row.fields, "source": "import"},
                )
            )
        if amounts is not None and (row.fee_changed or row.action == "create"):
            session.add(
                ProcedureFee(
                    procedure_code=row.code,
                    fee_vnd=amounts[0],
                    charge_vnd=amounts[1],
                    effective_from=start,
                    basis="Nhập danh mục thủ tục quốc gia / national catalogue import",
                    created_by=principal.id,
                )
            )
            fee_versions += 1
    return fee_versions


async def import_catalogue(
    session: AsyncSession,
    principal: Principal,
    client_ip: str | None,
    content: bytes,
    *,
    dry_run: bool,
    effective_from: datetime | None,
) -> ImportResult:
    await editing.require_national(session, principal)
    start = effective_from or utcnow()
    if start.tzinfo is None or start.utcoffset() is None:
        raise Problem(422, NAIVE_TIME, code="naive_time")
    check_days(effective_from=start.date())
    if start < utcnow() - editing.SKEW:
        raise Problem(
            422,
            "Phiên bản không được bắt đầu trong quá khứ / A version cannot start in the past",
            code="catalogue_version_in_past",
        )
    try:
        parsed = importer_rows.parse(content)
    except ValueError as exc:
        raise ImportRejected(0, [importer_rows.RowError(0, str(exc))]) from None
    if parsed.errors:
        raise ImportRejected(len(parsed.rows) + len(parsed.errors), parsed.errors)
    plan, errors = await _plan(session, parsed, start)
    if errors:
        raise ImportRejected(len(parsed.rows), errors)
    rows = [r for r, _, _ in plan]
    fee_versions = sum(1 for r, _, a in plan if a is not None and (r.fee_changed or r.action == "create"))
    if not dry_run:
        await _write(session, principal, client_ip, plan, start)
        counts = {a: sum(1 for r in rows if r.action == a) for a in ("create", "new_version", "unchanged")}
        session.add(
            editing.event(
                principal, client_ip, "catalogue_imported", "catalogue", {**counts, "format": parsed.format}
            )
        )
        await session.commit()
        editing_store.changed()
    return ImportResult(
        dry_run=dry_run,
        format=parsed.format,  # type: ignore[arg-type]
        rows=len(rows),
        created=sum(1 for r in rows if r.action == "create"),
        new_versions=sum(1 for r in rows if r.action == "new_version"),
        unchanged=sum(1 for r in rows if r.action == "unchanged"),
        fee_versions=fee_versions,
        effective_from=start,
        changes=[r for r in rows if r.action != "unchanged"][:2000],
    )
