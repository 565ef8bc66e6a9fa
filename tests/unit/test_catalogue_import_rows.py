"""Reading a national catalogue export (backend/catalogue/importer_rows.py): headers matched by their folded
Vietnamese names, levels, time limits, amounts and documents as the portal writes them; bad rows by line."""

import json

import pytest

from backend.catalogue import importer_rows as ir


def test_headers_fold_accents_case_and_punctuation() -> None:
    assert ir.fold("Mã thủ tục") == "mathutuc" and ir.fold("THỜI HẠN GIẢI QUYẾT") == "thoihangiaiquyet"
    assert ir.fold("Phí, lệ phí") == "philephi" and ir.fold("Đồng") == "dong"


@pytest.mark.parametrize(
    ("raw", "level"),
    [("Cấp Xã", "commune"), ("Cấp tỉnh", "province"), ("Cấp Bộ", "central"), ("Cấp Tỉnh, Cấp Xã", "province"),
     ("Trung ương", "central"), ("commune", "commune")],
)  # fmt: skip
def test_levels(raw: str, level: str) -> None:
    assert ir._level(raw) == level


def test_level_unknown_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        ir._level("Cấp huyện")


@pytest.mark.parametrize(
    ("raw", "days"),
    [("03 ngày làm việc", 3.0), ("15 ngày", 15.0), ("5", 5.0), ("Trong ngày", 0.0), ("Ngay trong ngày", 0.0),
     ("0,5 ngày làm việc", 0.5)],
)  # fmt: skip
def test_processing_days(raw: str, days: float) -> None:
    assert ir._days(raw) == days


@pytest.mark.parametrize(
    ("raw", "amount"), [("8.000 đồng", 8000), ("Không", 0), ("Miễn phí", 0), ("", 0), (100000, 100000), ("1,200,000đ", 1200000)]
)  # fmt: skip
def test_amounts(raw: object, amount: int) -> None:
    assert ir._amount(raw) == amount


def test_combined_fee_column() -> None:
    assert ir._fees({"fees": "Phí: 10.000 đồng; Lệ phí: 5.000 đồng"}) == (10000, 5000)
    assert ir._fees({"fees": "Lệ phí: 8.000 đồng"}) == (0, 8000)
    assert ir._fees({"fees": "50.000"}) == (0, 50000)
    assert ir._fees({}) is None


def test_documents_one_per_line_originals_marked() -> None:
    docs = ir._documents("- Tờ khai (bản chính)\n2. Bản sao CCCD; \n")
    assert [(d["name"], d["original"]) for d in docs] == [
        ("Tờ khai (bản chính)", True),
        ("Bản sao CCCD", False),
    ]


def test_semicolon_csv_with_bom_and_errors_by_line() -> None:
    text = "\ufeffMã TTHC;Tên thủ tục;Lĩnh vực;Cấp thực hiện;Thời hạn giải quyết\r\n"
    text += "1.000001;Một;Hộ tịch;Cấp xã;3 ngày\r\n"
    text += "1.000002;Hai;Hộ tịch;Cấp huyện;3 ngày\r\n"
    text += "1.000001;Ba;Hộ tịch;Cấp xã;3 ngày\r\n"
    parsed = ir.parse(text.encode())
    assert parsed.format == "csv" and [code for _, code, _, _ in parsed.rows] == ["1.000001"]
    assert [(e.line, "level" in e.message or "line 2" in e.message) for e in parsed.errors] == [
        (3, True),
        (4, True),
    ]


def test_json_list_and_unreadable_files() -> None:
    parsed = ir.parse(
        json.dumps(
            [{"code": "1.1", "name": "A", "field": "B", "level": "Cấp xã", "processing_days": 1}]
        ).encode()
    )
    assert parsed.format == "json" and parsed.rows[0][2].processing_days == 1
    for bad in (b"\xff\xfe", b"[1]", b"{", b'{"procedures": {}}'):
        with pytest.raises(ValueError):
            ir.parse(bad)
