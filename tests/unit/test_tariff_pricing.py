"""Pricing from versioned prices (backend/catalogue/tariff_pricing.py): the version in force, fees only at
pickup, the first exemption that applies and what it covers."""

from datetime import UTC, datetime, timedelta

from backend.catalogue.tariff_pricing import Exemption, Fee, Rate, book_at, price

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def exemption(code: str = "pilot", **over: object) -> Exemption:
    values: dict[str, object] = dict(
        id="e1",
        code=code,
        province_code="82",
        procedure_code="1.005461",
        citizen_group=None,
        covers="fees",
        active=True,
        legal_basis="QĐ thí điểm",
        label_vi="Miễn",
        label_en="Waived",
        effective_from=T0,
    )
    values.update(over)
    return Exemption(**values)  # type: ignore[arg-type]


RATES = [
    Rate("r1", "pickup", "Z1", 22000, T0),
    Rate("r2", "pickup", "Z1", 25000, T0 + timedelta(days=10)),
    Rate("r3", "pickup", "Z2", 30000, T0),
]
FEES = [Fee("f1", "1.005461", 0, 7000, T0 + timedelta(days=5))]


def test_the_version_in_force_is_the_latest_started() -> None:
    before = price(book_at(RATES, FEES, [], T0 + timedelta(days=9)), "pickup", 2.0, ("1.005461", 0, 5000))
    after = price(book_at(RATES, FEES, [], T0 + timedelta(days=10)), "pickup", 2.0, ("1.005461", 0, 5000))
    assert (before["postal"], before["tariff_rate_id"]) == (22000, "r1")
    assert (after["postal"], after["tariff_rate_id"]) == (25000, "r2")
    assert before["charge"] == 7000 and before["procedure_fee_id"] == "f1"
    early = price(book_at(RATES, FEES, [], T0), "pickup", 2.0, ("1.005461", 0, 5000))
    assert (
        early["charge"] == 5000 and early["procedure_fee_id"] is None
    )  # the catalogue's until a version starts


def test_no_version_for_a_key_falls_back_to_the_defaults() -> None:
    q = price(book_at(RATES, [], [], T0), "assisted", 2.0, None)
    assert q["postal"] == 40000 and q["tariff_rate_id"] is None and q["total"] == 40000
    assert price(None, "pickup", 7.0, None)["postal"] == 30000


def test_delivery_pays_no_fees_and_exemptions_cover_what_they_say() -> None:
    proc = ("1.005461", 1000, 5000)
    book = book_at(RATES, [], [exemption()], T0)
    q = price(book, "pickup", 2.0, proc, province_code="82")
    assert q["exempted"] == 6000 and q["total"] == 22000 and q["exemption"]["code"] == "pilot"
    assert price(book, "pickup", 2.0, proc, province_code="83")["exemption"] is None  # another province
    assert price(book, "delivery", 2.0, proc, province_code="82", fees_due=False)["total"] == 22000
    every = book_at(RATES, [], [exemption(covers="all")], T0)
    assert price(every, "pickup", 2.0, proc, province_code="82")["total"] == 0
    group = book_at(RATES, [], [exemption(citizen_group="poor_household", covers="postal")], T0)
    assert price(group, "pickup", 2.0, proc, province_code="82")["exemption"] is None
    assert (
        price(group, "pickup", 2.0, proc, province_code="82", groups=frozenset({"poor_household"}))["total"]
        == 6000
    )


def test_an_inactive_version_ends_an_exemption() -> None:
    versions = [exemption(), exemption(id="e2", active=False, effective_from=T0 + timedelta(days=1))]
    proc = ("1.005461", 0, 5000)
    assert (
        price(book_at(RATES, [], versions, T0), "pickup", 2.0, proc, province_code="82")["exempted"] == 5000
    )
    assert (
        price(book_at(RATES, [], versions, T0 + timedelta(days=1)), "pickup", 2.0, proc, province_code="82")[
            "exempted"
        ]
        == 0
    )
