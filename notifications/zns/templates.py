"""Our notification kinds → ZNS templates: Zalo's template id and the template's parameters.

A ZNS template is written and submitted in Zalo's ZNS console by the operator; Zalo reviews it and, once
approved, gives it an id. So ids are configuration, never code. The operator sets ``ZNS_TEMPLATES``
(``backend/settings.py``) to ``kind=template_id`` pairs separated by commas, e.g.
``ZNS_TEMPLATES="dossier.result_ready=302145,courier.on_the_way=302146"``; each kind's parameters are then the
ones listed in ``PARAMS`` below, which is what the template must declare when it is submitted (the names,
and types whose length fits). A template whose parameters differ is given as JSON instead:
``ZNS_TEMPLATES='{"dossier.result_ready": {"id": "302145", "params": {"ma_ho_so": "item_id"}}}'`` (ZNS
parameter name → our notification parameter). The simple form is also what ``Settings.zns_template_ids``
reads for the channel dispatcher (``notifications/channels/senders.py``). Kinds without a template are simply not sent by ZNS.

Parameter lengths: Zalo limits each parameter by its declared type ("Tên khách hàng" 30, "Mã số" 30, "Thời
gian" 20, "Nhãn tùy chỉnh" 30, "Địa chỉ" 200, …; https://zalo.cloud/zns/guidelines and the ZNS SDK's
``ZNSParamType`` at https://app.unpkg.com/@warriorteam/redai-zalo-sdk/files/dist/types/zns.d.ts); values are
cut to that length here rather than refused by Zalo (-112, fatal). Times go in Vietnam time as ``HH:MM
dd/mm/yyyy``.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas.vntime import to_vn


@dataclass(frozen=True, slots=True)
class Param:
    source: str  # our notification parameter
    max_len: int = 30


@dataclass(frozen=True, slots=True)
class ZnsTemplate:
    kind: str
    template_id: str
    params: Mapping[str, Param]  # ZNS parameter name → where its value comes from


# The parameters each kind's template is submitted with: our notification parameters' own names (what
# ``notifications.channels`` passes as ``params``), each with the length its ZNS type allows.
PARAMS: dict[str, dict[str, Param]] = {
    "dossier.result_ready": {"item_id": Param("item_id")},
    "dossier.supplement_requested": {"item_id": Param("item_id"), "documents": Param("documents", 200)},
    "dossier.handed_to_agency": {
        "item_id": Param("item_id"),
        "agency": Param("agency", 200),
        "result_due": Param("result_due", 20),
    },
    "dossier.out_for_delivery": {"item_id": Param("item_id"), "eta": Param("eta", 20)},
    "dossier.delivery_failed": {"item_id": Param("item_id"), "reason": Param("reason", 200)},
    # The live tracking link (backend/planning/tracking_link.py), for the template's URL button or text: a
    # 200-character parameter type, and production's PUBLIC_BASE_URL (at most 150) keeps it whole (never cut).
    "courier.on_the_way": {
        "courier_name": Param("courier_name"),
        "eta": Param("eta", 20),
        "track_url": Param("track_url", 200),
    },
    "appointment.booked": {"start": Param("start", 20), "post_office": Param("post_office", 200)},
    "appointment.cancelled": {"start": Param("start", 20), "reason": Param("reason", 200)},
}


class TemplateConfigError(ValueError):
    """``ZNS_TEMPLATES`` cannot be read, or names a kind without known parameters."""


def parse(spec: str) -> dict[str, ZnsTemplate]:
    """``ZNS_TEMPLATES`` → kind → template (see the module's docstring for the two forms)."""
    spec = spec.strip()
    if not spec:
        return {}
    if spec.startswith("{"):
        return _parse_json(spec)
    out: dict[str, ZnsTemplate] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        kind, sep, template_id = (x.strip() for x in pair.partition("="))
        if not sep or not template_id.isalnum():
            raise TemplateConfigError(f"ZNS_TEMPLATES: {pair!r} is not kind=template_id")
        if kind not in PARAMS:
            raise TemplateConfigError(
                f"ZNS_TEMPLATES: no default parameters for {kind!r} (give it as JSON with its params)"
            )
        out[kind] = ZnsTemplate(kind, template_id, PARAMS[kind])
    return out


def _parse_json(spec: str) -> dict[str, ZnsTemplate]:
    try:
        raw = json.loads(spec)
        out = {}
        for kind, entry in raw.items():
            params = {str(k): Param(str(v), 200) for k, v in entry["params"].items()}
            template_id = str(entry["id"])
            if not template_id.isalnum() or not params:
                raise ValueError(kind)
            out[str(kind)] = ZnsTemplate(str(kind), template_id, params)
        return out
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TemplateConfigError(f"ZNS_TEMPLATES: not a valid JSON template map ({exc})") from None


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return to_vn(value).strftime("%H:%M %d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def template_data(template: ZnsTemplate, params: Mapping[str, Any]) -> dict[str, str]:
    """The ``template_data`` of one message; KeyError naming a parameter the notification lacks."""
    data = {}
    for name, p in template.params.items():
        if p.source not in params:
            raise KeyError(p.source)
        text = _text(params[p.source])
        data[name] = text if len(text) <= p.max_len else text[: p.max_len - 1] + "…"
    return data
