"""Shape and sanity of the shipped procedure catalogue (backend/catalogue/data/procedures.json)."""

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.catalogue import DocumentRequirement, ProcedureBase

DATA = Path(__file__).resolve().parents[2] / "backend" / "catalogue" / "data"
RAW = json.loads((DATA / "procedures.json").read_text(encoding="utf-8"))
PROCS: list[dict[str, Any]] = RAW["procedures"]

CODE = re.compile(r"^\d\.\d{6}$")  # national procedure code on the DVCQG, e.g. 1.001193


def test_enough_entries_and_unique_codes() -> None:
    assert len(PROCS) >= 45
    dupes = [c for c, n in Counter(p["code"] for p in PROCS).items() if n > 1]
    assert not dupes
    assert all(CODE.match(p["code"]) for p in PROCS), [p["code"] for p in PROCS if not CODE.match(p["code"])]
    # most codes must be confirmed, and the unconfirmed ones must say so
    assert sum(p["code_verified"] for p in PROCS) >= 40
    assert all(isinstance(p["code_verified"], bool) for p in PROCS)


@pytest.mark.parametrize("proc", PROCS, ids=lambda p: p["code"])
def test_each_entry(proc: dict[str, Any]) -> None:
    for key in ("name", "name_en", "field", "legal_basis", "processing_note", "fee_note"):
        assert isinstance(proc[key], str) and proc[key].strip(), key
    assert len(proc["legal_basis"]) <= 600  # the DB column
    assert proc["level"] in ("commune", "province", "central")
    days = proc["processing_days"]
    assert isinstance(days, int | float) and not isinstance(days, bool)
    assert 0 <= days <= 90
    for money in ("fee", "charge"):
        assert isinstance(proc[money], int) and not isinstance(proc[money], bool)
        assert 0 <= proc[money] <= 20_000_000
    assert isinstance(proc["fee_varies_by_province"], bool)
    assert isinstance(proc["postal_pickup"], bool) and isinstance(proc["postal_return"], bool)
    if not proc["postal_pickup"]:
        # a procedure closed to postal pickup must say why the person has to come
        assert proc.get("presence_note", "").strip() or "bưu điện" in proc["processing_note"]
    docs = proc["documents"]
    assert len(docs) >= 1
    for doc in docs:
        assert isinstance(doc["name"], str) and doc["name"].strip()
        assert isinstance(doc["original"], bool)
        assert isinstance(doc.get("optional", False), bool)
    assert any(not d.get("optional", False) for d in docs), "at least one mandatory document"
    # the shapes the API serves validate
    ProcedureBase.model_validate(proc)
    for i, doc in enumerate(docs):
        DocumentRequirement.model_validate({"id": f"d{i}", **doc})


def test_known_facts() -> None:
    by_code = {p["code"]: p for p in PROCS}
    birth = by_code["1.001193"]
    assert birth["processing_days"] == 0 and birth["charge"] == 0 and birth["postal_pickup"]
    marriage = by_code["1.000894"]
    assert not marriage["postal_pickup"] and "có mặt" in marriage["presence_note"]
    assert by_code["1.001612"]["processing_days"] == 3  # business household registration
    assert by_code["1.013225"]["processing_days"] == 15  # detached-house construction permit
    assert by_code["3.000333"]["processing_days"] == 10 and by_code["3.000333"]["fee"] == 200_000
    assert by_code["2.000815"]["fee"] == 2000  # per page
    assert by_code["1.004222"]["processing_days"] == 7 and by_code["1.004194"]["processing_days"] == 3


def test_covers_the_fields_of_a_one_stop_desk() -> None:
    fields = Counter(p["field"] for p in PROCS)
    for f in (
        "Hộ tịch",
        "Chứng thực",
        "Cư trú",
        "Đăng ký hộ kinh doanh",
        "Bảo trợ xã hội",
        "Xây dựng",
        "Đất đai",
    ):
        assert fields[f] >= 1, f
    levels = Counter(p["level"] for p in PROCS)
    assert levels["commune"] >= 30 and levels["province"] >= 5
    # most procedures accept postal pickup, but not all
    pickup = sum(p["postal_pickup"] for p in PROCS)
    assert len(PROCS) // 2 < pickup < len(PROCS)
