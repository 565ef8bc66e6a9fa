"""A plan as an SVG picture for the dispatcher, with no map tiles: commune centroids as faint dots for
orientation, the post office, each courier's route as a coloured polyline with numbered stops, and the stops
left out as grey crosses. Pure: takes plain data, returns the SVG text."""

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 900
MARGIN = 40
LEGEND_W = 220


@dataclass(frozen=True)
class MapRoute:
    label: str
    colour: str
    points: list[tuple[float, float]]  # start, stops..., end (lat, lon)
    stop_count: int  # the stops are points[1 : 1 + stop_count]


@dataclass(frozen=True)
class MapInput:
    title: str
    depot: tuple[float, float]
    routes: list[MapRoute]
    unassigned: list[tuple[float, float]]
    background: list[tuple[float, float]]  # commune centroids


def render(m: MapInput) -> str:
    pts = [m.depot, *(p for r in m.routes for p in r.points), *m.unassigned]
    lat0, lat1 = min(p[0] for p in pts), max(p[0] for p in pts)
    lon0, lon1 = min(p[1] for p in pts), max(p[1] for p in pts)
    pad_lat = max((lat1 - lat0) * 0.08, 0.005)
    pad_lon = max((lon1 - lon0) * 0.08, 0.005)
    lat0, lat1, lon0, lon1 = lat0 - pad_lat, lat1 + pad_lat, lon0 - pad_lon, lon1 + pad_lon
    # Equirectangular projection scaled at the map's mean latitude: fine at a province's size.
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span_x, span_y = (lon1 - lon0) * kx, lat1 - lat0
    inner = WIDTH - 2 * MARGIN
    scale = inner / max(span_x, span_y)
    map_w = span_x * scale + 2 * MARGIN
    height = span_y * scale + 2 * MARGIN + 30
    total_w = map_w + LEGEND_W

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return MARGIN + (p[1] - lon0) * kx * scale, 30 + MARGIN + (lat1 - p[0]) * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {total_w:.0f} {height:.0f}" font-family="sans-serif">',
        f"<title>{escape(m.title)}</title>",
        f'<rect x="0" y="0" width="{total_w:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="24" font-size="16" fill="#222">{escape(m.title)}</text>',
        '<g id="communes" fill="#b0b0b0" fill-opacity="0.35">',
    ]
    for p in m.background:
        if lat0 <= p[0] <= lat1 and lon0 <= p[1] <= lon1:
            x, y = xy(p)
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    out.append("</g>")
    for i, r in enumerate(m.routes):
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, r.points))
        out.append(f'<g id="route-{i + 1}" class="route">')
        out.append(
            f'<polyline points="{coords}" fill="none" stroke="{escape(r.colour)}" stroke-width="2.5" '
            'stroke-opacity="0.85" stroke-linejoin="round"/>'
        )
        for n, p in enumerate(r.points[1 : 1 + r.stop_count], start=1):
            x, y = xy(p)
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="#fff" stroke="{escape(r.colour)}" stroke-width="2"/>'
                f'<text x="{x:.1f}" y="{y + 3.5:.1f}" font-size="9" text-anchor="middle" fill="#111">{n}</text>'
            )
        out.append("</g>")
    out.append('<g id="unassigned" stroke="#777" stroke-width="2">')
    for p in m.unassigned:
        x, y = xy(p)
        out.append(
            f'<path d="M{x - 5:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 5:.1f} M{x - 5:.1f},{y + 5:.1f} L{x + 5:.1f},{y - 5:.1f}"/>'
        )
    out.append("</g>")
    dx, dy = xy(m.depot)
    out.append(
        f'<g id="depot"><rect x="{dx - 8:.1f}" y="{dy - 8:.1f}" width="16" height="16" fill="#222"/>'
        f'<text x="{dx + 12:.1f}" y="{dy + 4:.1f}" font-size="11" fill="#222">Bưu cục / Post office</text></g>'
    )
    lx = map_w + 10
    out.append(
        f'<g id="legend" font-size="12"><text x="{lx:.0f}" y="{30 + MARGIN:.0f}" fill="#222">Bưu tá / Couriers</text>'
    )
    for i, r in enumerate(m.routes):
        y = 30 + MARGIN + 20 * (i + 1)
        out.append(
            f'<rect x="{lx:.0f}" y="{y - 9}" width="14" height="10" fill="{escape(r.colour)}"/>'
            f'<text x="{lx + 20:.0f}" y="{y}" fill="#222">{escape(r.label)} ({r.stop_count})</text>'
        )
    y = 30 + MARGIN + 20 * (len(m.routes) + 1)
    out.append(
        f'<text x="{lx:.0f}" y="{y}" fill="#555">✕ chưa xếp / unassigned: {len(m.unassigned)}</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)
