"""Rows of a national procedure catalogue export -> procedure content (pure: bytes in, rows or errors out).

The export of the National Database on Administrative Procedures (Cơ sở dữ liệu quốc gia về thủ tục hành
chính, shown on Cổng Dịch vụ công quốc gia) names each procedure by the elements Decree 63/2010/NĐ-CP art. 8
requires: mã thủ tục, tên, lĩnh vực, cấp thực hiện, thời hạn giải quyết, phí / lệ phí, thành phần hồ sơ, căn cứ
pháp lý. We could not find the portal's export format published (searched: no document of its columns), so
the headers are matched by these names, folded (accents, case, spaces and punctuation ignored), or by our own
English names: ``code``, ``name``, ``name_en``, ``field``, ``level``, ``processing_days``, ``fee``, ``charge``,
``documents``, ``legal_basis``, ``postal_pickup``, ``postal_return``.

* CSV: UTF-8 with or without a BOM, comma or semicolon separated, a header line; ``line`` is the file's line.
* JSON: a list of objects, or ``{"procedures": [...]}`` with the same keys; ``line`` is the object's position
  (1-based).
* ``thời hạn giải quyết``: a number of working days ("03 ngày làm việc", "15 ngày", "5") or the same day
  ("Trong ngày", "Ngay trong ngày", "0"); ``cấp thực hiện``: "Cấp xã" -> commune, "Cấp tỉnh" -> province,
  "Cấp Bộ" / "Trung ương" -> central (the first one named); amounts in đồng ("8.000 đồng", "Không", "Miễn"
  -> 0); a combined "phí, lệ phí" column is read as "Phí: X; Lệ phí: Y", or a single amount as the lệ phí;
  ``thành phần hồ sơ``: one document per line (or per ";"), "(bản chính)" marks an original.
"""

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from schemas.catalogue_edits import ProcedureContent

MAX_ROWS = 20_000

ALIASES = {
    "code": ("matthc", "mathutuc", "ma", "code", "procedurecode"),
    "name": ("tenthutuc", "tenthutuchanhchinh", "tenttthc", "tentthc", "ten", "name"),
    "name_en": ("nameen", "tentienganh"),
    "field": ("linhvuc", "field"),
    "level": ("capthuchien", "level"),
    "processing_days": ("thoihangiaiquyet", "thoihan", "processingdays"),
    "fee": ("phi", "fee"),
    "charge": ("lephi", "charge"),
    "fees": ("philephi", "fees"),
    "documents": ("thanhphanhoso", "documents"),
    "legal_basis": ("cancuphaply", "legalbasis"),
    "postal_pickup": ("postalpickup", "tiepnhanquabuuchinh"),
    "postal_return": ("postalreturn", "traketquaquabuuchinh"),
}
_BY_FOLDED = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
REQUIRED = ("code", "name", "field", "level", "processing_days")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass
class Parsed:
    format: str
    rows: list[tuple[int, str, ProcedureContent, tuple[int, int] | None]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _level(raw: str) -> str:
    f = fold(raw)
    found = [
        (f.find(k), v)
        for k, v in (("xa", "commune"), ("tinh", "province"), ("bo", "central"), ("trunguong", "central"))
        if k in f
    ]
    if raw.strip() in ("commune", "province", "central"):
        return raw.strip()
    if not found:
        raise ValueError(f"cấp thực hiện không rõ '{raw}' / unknown level '{raw}'")
    return min(found)[1]


def _days(raw: str) -> float:
    text = raw.strip()
    try:
        return float(text.replace(",", "."))
    except ValueError:
        pass
    m = re.search(r"(\d+(?:[.,]\d+)?)\s*(?:ngày|ngay)", text, re.IGNORECASE)
    if m:
        return float(m.group(1).replace(",", "."))
    if "trongngay" in fold(text):
        return 0.0
    raise ValueError(f"thời hạn không rõ '{raw}' / unreadable processing time '{raw}'")


def _amount(raw: Any) -> int:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return int(raw)
    text = str(raw or "").strip()
    if not text or fold(text) in ("khong", "mien", "0", "khongco", "mienphi"):
        return 0
    digits = re.search(r"\d[\d.,\s]*", text)
    if digits is None:
        raise ValueError(f"số tiền không rõ '{text}' / unreadable amount '{text}'")
    return int(re.sub(r"[.,\s]", "", digits.group(0)))


def _fees(values: dict[str, Any]) -> tuple[int, int] | None:
    if "fee" in values or "charge" in values:
        return _amount(values.get("fee")), _amount(values.get("charge"))
    if "fees" not in values:
        return None
    text = str(values["fees"])
    charge = re.search(r"lệ\s*phí\s*:?\s*([^;\n]*)", text, re.IGNORECASE)
    fee = re.search(r"(?<!lệ )\bphí\s*:?\s*([^;\n]*)", text, re.IGNORECASE)
    if charge is None and fee is None:
        return 0, _amount(text)
    return (_amount(fee.group(1)) if fee else 0), (_amount(charge.group(1)) if charge else 0)


def _documents(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, list):
        items = [d if isinstance(d, dict) else {"name": str(d)} for d in raw]
    else:
        items = [{"name": p} for p in re.split(r"[\n;]+", str(raw or ""))]
    out = []
    for i, d in enumerate(items, 1):
        name = re.sub(r"^\s*(?:[-+*•]|\d+[.)])\s*", "", str(d.get("name", ""))).strip()
        if not name:
            continue
        original = bool(d.get("original", "bản chính" in name.lower()))
        out.append({"id": d.get("id") or f"tp-{i}", "name": name[:300], "original": original})
    return out


def _flag(raw: Any, default: bool = True) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    f = fold(str(raw))
    if f in ("1", "true", "co", "yes", "x"):
        return True
    if f in ("0", "false", "khong", "no"):
        return False
    raise ValueError(f"giá trị có/không không rõ '{raw}' / unreadable yes/no '{raw}'")


def row_content(values: dict[str, Any]) -> tuple[str, ProcedureContent, tuple[int, int] | None]:
    missing = [n for n in REQUIRED if str(values.get(n) or "").strip() == ""]
    if missing:
        raise ValueError(f"thiếu {missing} / missing {missing}")
    code = str(values["code"]).strip()
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}", code):
        raise ValueError(f"mã thủ tục không hợp lệ '{code}' / invalid procedure code '{code}'")
    content = ProcedureContent.model_validate(
        {
            "name": str(values["name"]).strip(),
            "name_en": (str(values.get("name_en") or "").strip() or None),
            "field": str(values["field"]).strip(),
            "level": _level(str(values["level"])),
            "processing_days": _days(str(values["processing_days"])),
            "documents": _documents(values.get("documents")),
            "legal_basis": (str(values.get("legal_basis") or "").strip()[:600] or None),
            "postal_pickup": _flag(values.get("postal_pickup")),
            "postal_return": _flag(values.get("postal_return")),
        }
    )
    return code, content, _fees(values)


def _named(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = _BY_FOLDED.get(fold(str(key or "")))
        if name is not None and name not in out:
            out[name] = value
    return out


def _records(content: bytes) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    text = content.decode("utf-8-sig")
    if text.lstrip()[:1] in ("[", "{"):
        data = json.loads(text)
        items = data.get("procedures") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("JSON phải là danh sách thủ tục / JSON must be a list of procedures")
        return "json", [(i, item) for i, item in enumerate(items, 1)]
    sample = text[:4096]
    dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    rows: list[tuple[int, dict[str, Any]]] = []
    _ = reader.fieldnames  # reads the header line
    last = reader.line_num
    for row in reader:
        line, last = last + 1, reader.line_num  # a quoted field may span lines: the row's first line
        if None in row:
            rows.append((line, {"__extra__": True}))
            continue
        rows.append((line, dict(row)))
    return "csv", rows


def parse(content: bytes) -> Parsed:
    """Every row, or its error; a file that cannot be read at all raises ``ValueError``."""
    try:
        fmt, records = _records(content)
    except UnicodeDecodeError:
        raise ValueError("Tệp không phải UTF-8 / The file is not UTF-8") from None
    except (json.JSONDecodeError, csv.Error) as exc:
        raise ValueError(f"Không đọc được tệp / Unreadable file: {exc}") from None
    if len(records) > MAX_ROWS:
        raise ValueError(f"Quá {MAX_ROWS} dòng / More than {MAX_ROWS} rows")
    parsed = Parsed(fmt)
    seen: dict[str, int] = {}
    for line, raw in records:
        if raw.get("__extra__"):
            parsed.errors.append(RowError(line, "thừa cột / more fields than the header"))
            continue
        try:
            code, content_, fees = row_content(_named(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            parsed.errors.append(RowError(line, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
            continue
        except ValueError as exc:
            parsed.errors.append(RowError(line, str(exc)))
            continue
        if code in seen:
            parsed.errors.append(
                RowError(line, f"mã '{code}' trùng dòng {seen[code]} / code repeats line {seen[code]}")
            )
            continue
        seen[code] = line
        parsed.rows.append((line, code, content_, fees))
    return parsed
