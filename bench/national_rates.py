"""A national peak hour in requests per second, from public figures (``bench/national_figures.json``). Pure: no
network, no database; ``bench/national.py`` drives the service at a fraction of these rates.

The arithmetic (values from the data file; its entries name their sources and which are our assumptions):

1. Postal dossiers a working day, two ways, the higher kept:
   * Vietnam Post's own count: 16 M a year / 250 working days = 64,000 a day;
   * the country's administrative documents, at least 600,000 a day (Ministry of Justice), times the postal share
     of a province that uses the post a lot (Đồng Tháp 2021, about 20 %) = 120,000 a day.
   The design figure is 120,000: room for growth since 2020 and for the 2025 reform, which moved counter work
   to the post (8,000 postal staff at commune People's Committees from 1 July 2025).
2. Busiest day x 2 = 240,000; its busiest hour 15 % = 36,000 postal dossiers in the hour = 10.0 a second.
3. Per dossier: 2 booked visits (pickup and the result's delivery), 6 public tracking lookups, 1 courier sync per
   visit (a stop), 12 notices of which app users (75 %) get pushes on 1.2 devices and the others SMS.
   Requests a second in the national peak hour:
     bookings      10.0 x 2                  =  20.0 /s   (POST /appointments)
     tracking      10.0 x 6                  =  60.0 /s   (GET /track/{item_id}, public)
     courier syncs 20.0 stops/s x 1          =  20.0 /s   (POST /events/batch)
     push fan-out  10.0 x 12 x 0.75 x 1.2    = 108.0 /s   (outbox rows sent to FCM by the dispatcher)
     SMS fan-out   10.0 x 12 x 0.25          =  30.0 /s   (not driven by the bench: the eSMS channel)
   HTTP requests to the API: 100 a second; with the pushes, 208 operations a second.
4. Per province, by population: the average province is 1/34 of the nation (2.9 %: 2.9 HTTP requests/s); the
   largest, Hồ Chí Minh City after the 2025 merger (about 13.5 M of 101.3 M, 13.3 %), 13.3 HTTP requests/s,
   4.5 times the average. Per commune: 36,000 / 3,321 = 10.8 postal dossiers in the peak hour. Per courier
   (20,000): 72,000 stops / 20,000 = 3.6 stops in the hour, a plausible load, so the volume is not absurd.
"""

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("national_figures.json")
# The kinds of load, in the order the bench prints them.
KINDS = ("booking", "tracking", "courier_sync", "push")


@cache
def figures(path: Path = DATA) -> dict[str, float]:
    """The values of the data file by name (read once; the file's ``_about`` skipped)."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {k: float(v["value"]) for k, v in raw.items() if not k.startswith("_")}


@dataclass(frozen=True)
class NationalPeak:
    """The national peak hour, each figure per second unless named otherwise."""

    postal_per_day_vnpost: float
    postal_per_day_share: float
    postal_per_day: float  # the design figure: the higher of the two
    peak_hour_dossiers: float
    dossiers_per_s: float
    rates: dict[str, float]  # per kind (KINDS), requests or messages a second, the whole nation
    sms_per_s: float
    average_province_share: float
    largest_province_share: float
    per_commune_peak_hour: float
    stops_per_courier_hour: float

    @property
    def http_per_s(self) -> float:
        """Requests a second to the API (push is the dispatcher's work, not HTTP to the service)."""
        return sum(v for k, v in self.rates.items() if k != "push")

    @property
    def total_per_s(self) -> float:
        return sum(self.rates.values())

    def province(self, share: float) -> dict[str, float]:
        return {k: v * share for k, v in self.rates.items()}


def national_peak(f: dict[str, float] | None = None) -> NationalPeak:
    f = figures() if f is None else f
    vnpost = f["vnpost_dossiers_per_year"] / f["working_days"]
    share = f["national_documents_per_day"] * f["postal_share"]
    per_day = max(vnpost, share)
    peak_hour = per_day * f["busiest_day_factor"] * f["peak_hour_share"]
    per_s = peak_hour / 3600
    bookings = per_s * f["bookings_per_dossier"]
    rates = {
        "booking": bookings,
        "tracking": per_s * f["tracking_per_dossier"],
        "courier_sync": bookings * f["syncs_per_stop"],  # each booked visit is a courier's stop
        "push": per_s * f["messages_per_dossier"] * f["smartphone_share"] * f["devices_per_app_user"],
    }
    return NationalPeak(
        postal_per_day_vnpost=vnpost,
        postal_per_day_share=share,
        postal_per_day=per_day,
        peak_hour_dossiers=peak_hour,
        dossiers_per_s=per_s,
        rates=rates,
        sms_per_s=per_s * f["messages_per_dossier"] * (1 - f["smartphone_share"]),
        average_province_share=1 / f["provinces"],
        largest_province_share=f["largest_province_population"] / f["population"],
        per_commune_peak_hour=peak_hour / f["communes"],
        stops_per_courier_hour=bookings * 3600 / f["couriers"],
    )


def poisson_arrivals(rate: float, duration_s: float, rng: Any) -> list[float]:
    """Arrival times (seconds from 0) of a Poisson process of ``rate`` a second over ``duration_s``: exponential
    gaps of mean 1/rate (``rng`` is a ``random.Random``)."""
    if rate <= 0:
        return []
    out: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= duration_s:
            return out
        out.append(t)


def schedule(rates: dict[str, float], scale: float, duration_s: float, rng: Any) -> list[tuple[float, str]]:
    """One mixed schedule: every kind's Poisson arrivals at ``rate x scale``, merged in time order."""
    merged = [(t, kind) for kind, r in rates.items() for t in poisson_arrivals(r * scale, duration_s, rng)]
    merged.sort()
    return merged


def machines_for(nation_per_s: float, held_per_s: float) -> int:
    """Machines like this one the nation's peak needs at the rate one held (at least 1)."""
    return max(1, math.ceil(nation_per_s / held_per_s)) if held_per_s > 0 else 0


def report(peak: NationalPeak) -> str:
    """The arithmetic as the bench prints it."""
    lines = [
        f"postal dossiers a working day: Vietnam Post's count {peak.postal_per_day_vnpost:,.0f}, national "
        f"documents x postal share {peak.postal_per_day_share:,.0f}: design {peak.postal_per_day:,.0f}",
        f"busiest hour of the busiest day: {peak.peak_hour_dossiers:,.0f} dossiers = "
        f"{peak.dossiers_per_s:.1f}/s",
        "national peak, per second: "
        + ", ".join(f"{k} {v:.1f}" for k, v in peak.rates.items())
        + f" (+ SMS {peak.sms_per_s:.1f}, not driven); HTTP {peak.http_per_s:.1f}/s, all {peak.total_per_s:.1f}/s",
        f"per province: average (1/34) {peak.http_per_s * peak.average_province_share:.1f} HTTP/s, largest "
        f"({peak.largest_province_share:.1%} of the people) {peak.http_per_s * peak.largest_province_share:.1f}"
        f" HTTP/s ({peak.largest_province_share / peak.average_province_share:.1f}x the average)",
        f"per commune {peak.per_commune_peak_hour:.1f} dossiers in the peak hour; per courier "
        f"{peak.stops_per_courier_hour:.1f} stops in it",
    ]
    return "\n".join(lines)
