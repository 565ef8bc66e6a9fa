"""The national peak hour's arithmetic (bench/national_rates.py) and its Poisson schedule: pure, no timing."""

import json
import math
import random
import statistics

import pytest

from bench import national_rates as nr


def test_every_figure_names_its_source_and_kind() -> None:
    raw = json.loads(nr.DATA.read_text(encoding="utf-8"))
    entries = {k: v for k, v in raw.items() if not k.startswith("_")}
    assert len(entries) >= 15
    for name, entry in entries.items():
        assert isinstance(entry["value"], int | float) and entry["value"] > 0, name
        assert entry["kind"] in {"published", "derived", "assumption"}, name
        assert len(entry["source"]) > 20 and entry["unit"], name
    assert set(nr.figures()) == set(entries)


def test_the_national_peak_from_the_figures() -> None:
    peak = nr.national_peak()
    # 16 M / 250 = 64,000 a day by Vietnam Post's count; 600,000 x 20 % = 120,000 by the postal share: the higher.
    assert peak.postal_per_day_vnpost == pytest.approx(64_000)
    assert peak.postal_per_day_share == pytest.approx(120_000)
    assert peak.postal_per_day == pytest.approx(120_000)
    # x 2 busiest day x 15 % in its busiest hour = 36,000 in the hour = 10 a second.
    assert peak.peak_hour_dossiers == pytest.approx(36_000)
    assert peak.dossiers_per_s == pytest.approx(10.0)
    assert peak.rates == pytest.approx(
        {"booking": 20.0, "tracking": 60.0, "courier_sync": 20.0, "push": 108.0}
    )
    assert tuple(peak.rates) == nr.KINDS
    assert peak.sms_per_s == pytest.approx(30.0)
    assert peak.http_per_s == pytest.approx(100.0)
    assert peak.total_per_s == pytest.approx(208.0)
    # Provinces: the average is 1/34; Ho Chi Minh City after the merger about 13.3 % of the people.
    assert peak.average_province_share == pytest.approx(1 / 34)
    assert peak.largest_province_share == pytest.approx(13.5 / 101.3)
    assert sum(peak.province(peak.average_province_share).values()) * 34 == pytest.approx(peak.total_per_s)
    assert peak.per_commune_peak_hour == pytest.approx(36_000 / 3_321)
    assert peak.stops_per_courier_hour == pytest.approx(20.0 * 3600 / 20_000)
    text = nr.report(peak)
    assert "120,000" in text and "booking 20.0" in text and "4.5x the average" in text


def test_the_design_figure_follows_the_higher_source_and_scales_linearly() -> None:
    f = dict(nr.figures())
    # With a 10 % postal share the share route gives 60,000 a day: Vietnam Post's 64,000 is then the design.
    low = nr.national_peak({**f, "postal_share": 0.1})
    assert low.postal_per_day == pytest.approx(64_000)
    assert low.rates["booking"] == pytest.approx(64_000 * 2 * 0.15 / 3600 * 2)
    # Doubling the busiest-day factor doubles every rate; the tracking lookups per dossier move only tracking.
    base = nr.national_peak(f)
    doubled = nr.national_peak({**f, "busiest_day_factor": f["busiest_day_factor"] * 2})
    for kind in nr.KINDS:
        assert doubled.rates[kind] == pytest.approx(2 * base.rates[kind])
    more = nr.national_peak({**f, "tracking_per_dossier": 12.0})
    assert more.rates["tracking"] == pytest.approx(2 * base.rates["tracking"])
    assert more.rates["booking"] == pytest.approx(base.rates["booking"])
    # No one has a smartphone: no pushes, every notice by SMS.
    none = nr.national_peak({**f, "smartphone_share": 0.0})
    assert none.rates["push"] == 0 and none.sms_per_s == pytest.approx(10.0 * 12)


def test_poisson_arrivals_have_the_right_mean_and_spread() -> None:
    rate, duration = 50.0, 400.0
    times = nr.poisson_arrivals(rate, duration, random.Random(7))
    expected = rate * duration  # 20,000; the count's standard deviation is sqrt(20,000) = 141
    assert abs(len(times) - expected) < 4 * math.sqrt(expected)
    assert times == sorted(times) and times[0] > 0 and times[-1] < duration
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    mean = statistics.fmean(gaps)
    assert mean == pytest.approx(1 / rate, rel=0.03)
    # Exponential gaps: standard deviation equal to the mean (a fixed pace would give 0).
    assert statistics.pstdev(gaps) / mean == pytest.approx(1.0, abs=0.05)
    # Counts per second: Poisson, so their variance equals their mean (index of dispersion 1).
    per_s = [0] * int(duration)
    for t in times:
        per_s[int(t)] += 1
    assert statistics.fmean(per_s) == pytest.approx(rate, rel=0.03)
    assert statistics.pvariance(per_s) / statistics.fmean(per_s) == pytest.approx(1.0, abs=0.2)


def test_the_mixed_schedule_offers_each_kind_at_its_scaled_rate() -> None:
    rates = nr.national_peak().rates
    scale, duration = 0.5, 200.0
    merged = nr.schedule(rates, scale, duration, random.Random(3))
    assert [t for t, _ in merged] == sorted(t for t, _ in merged)
    for kind, rate in rates.items():
        n = sum(1 for _, k in merged if k == kind)
        expected = rate * scale * duration
        assert abs(n - expected) < 4 * math.sqrt(expected), kind
    assert nr.poisson_arrivals(0.0, 10.0, random.Random(1)) == []


def test_machines_for_the_nation() -> None:
    assert nr.machines_for(208.0, 20.8) == 10
    assert nr.machines_for(208.0, 21.0) == 10
    assert nr.machines_for(208.0, 20.0) == 11
    assert nr.machines_for(1.0, 4.0) == 1
    assert nr.machines_for(1.0, 0.0) == 0
