"""The document's OpenAPI 3.1 ``webhooks``: what a partner's endpoint receives, one entry per event kind, with
the payload's schema and the signature headers. Passed to ``OpenAPIConfig(webhooks=…)`` in backend/app.py."""

from typing import Any

from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    RequestBody,
    Schema,
)
from pydantic import BaseModel

from backend.lib.openapi import PARTNERS
from schemas.webhooks import PING, AppointmentChangedData, DossierStatusData, WebhookKind

TYPES = {t.value: t for t in OpenAPIType}


def schema_of(node: dict[str, Any]) -> Schema:
    """A litestar ``Schema`` from a flat JSON Schema of pydantic's (objects of scalars, nullable unions)."""
    if "anyOf" in node:
        kinds = [TYPES[n["type"]] for n in node["anyOf"]]
        return Schema(type=kinds, description=node.get("description"))
    if node.get("type") == "object":
        return Schema(
            type=OpenAPIType.OBJECT,
            properties={name: schema_of(sub) for name, sub in node.get("properties", {}).items()},
            required=node.get("required"),
            description=node.get("description"),
            examples=node.get("examples"),
        )
    return Schema(type=TYPES[node["type"]], description=node.get("description"))


def _data(model: type[BaseModel]) -> Schema:
    return schema_of(model.model_json_schema())


def envelope(kind: str, data: Schema) -> Schema:
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["id", "type", "created_at", "data"],
        properties={
            "id": Schema(
                type=OpenAPIType.STRING,
                format="uuid",  # type: ignore[arg-type]
                description="the event id, also the Webhook-Id header: dedupe by it (a delivery may repeat)",
            ),
            "type": Schema(type=OpenAPIType.STRING, const=kind),
            "created_at": Schema(
                type=OpenAPIType.STRING,
                format="date-time",  # type: ignore[arg-type]
                description="when the event happened, Vietnam time with its offset",
            ),
            "data": data,
        },
    )


HEADERS = {
    "Webhook-Id": "the event id (as the body's `id`); the same on every retry: process each once",
    "Webhook-Timestamp": "Unix seconds when this request was signed; refuse ones over 5 minutes off",
    "Webhook-Signature": "`v1,` + base64 HMAC-SHA256 over `{Webhook-Id}.{Webhook-Timestamp}.{raw body}` with the "
    "secret's key (base64 after `whsec_`); space-separated if several (docs/webhooks.md)",
}
EXAMPLES = {
    "Webhook-Id": "6f1c2e0b-2d0a-4f7e-9a51-3f0c5b1f9a10",
    "Webhook-Timestamp": "1796440200",
    "Webhook-Signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
}


def _operation(kind: str, summary: str, description: str, data: Schema) -> PathItem:
    return PathItem(
        post=Operation(
            tags=[PARTNERS],
            summary=summary,
            description=description
            + " Sent by POST to each registered endpoint of an organisation party to the event that asked "
            "for this kind, signed per Standard Webhooks 1.0; answer any 2xx within WEBHOOK_TIMEOUT_S (10 s) "
            "once stored. 408, 429 (Retry-After honoured), 5xx, timeouts and network errors are retried with "
            "exponential backoff for about a day; other statuses fail the delivery for good. At least once: "
            "dedupe by Webhook-Id.",
            operation_id=f"on{''.join(p.title() for p in kind.replace('.', '_').split('_'))}",
            parameters=[
                Parameter(
                    name=name,
                    param_in="header",
                    required=True,
                    schema=Schema(type=OpenAPIType.STRING),
                    description=text,
                    example=EXAMPLES[name],
                )
                for name, text in HEADERS.items()
            ],
            request_body=RequestBody(
                required=True, content={"application/json": OpenAPIMediaType(schema=envelope(kind, data))}
            ),
            responses={
                "2XX": OpenAPIResponse(description="Received (stored or already seen); the delivery is done"),
                "default": OpenAPIResponse(
                    description="408, 429, 5xx: retried later; any other status: the delivery fails for good",
                    headers={
                        "Retry-After": OpenAPIHeader(
                            schema=Schema(type=OpenAPIType.STRING),
                            description="with 429 or 503: wait at least this long (seconds or an HTTP date)",
                        )
                    },
                ),
            },
        )
    )


def webhooks() -> dict[str, PathItem | Any]:
    ping = Schema(
        type=OpenAPIType.OBJECT,
        required=["message", "endpoint_id"],
        properties={
            "message": Schema(type=OpenAPIType.STRING, examples=["Thử kết nối / Connection test"]),
            "endpoint_id": Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
        },
    )
    return {
        WebhookKind.dossier_status_changed.value: _operation(
            WebhookKind.dossier_status_changed.value,
            "A dossier took a step",
            "Every recorded step of a dossier (hồ sơ) the organisation is party to: its raw event code, "
            "normalised status and national portal status 1-10, the organisations and the legal due date. "
            "No citizen name, phone or address (Decree 13/2023/NĐ-CP).",
            _data(DossierStatusData),
        ),
        WebhookKind.dossier_result_ready.value: _operation(
            WebhookKind.dossier_result_ready.value,
            "A dossier's result is ready",
            "The agency's result (kết quả) is ready to go back to the citizen; also sent as a "
            "dossier.status_changed with its own id.",
            _data(DossierStatusData),
        ),
        WebhookKind.appointment_changed.value: _operation(
            WebhookKind.appointment_changed.value,
            "A home appointment changed",
            "A home appointment at the organisation's post office (or for a dossier it is party to) was "
            "booked, rescheduled, cancelled, or its visit's outcome recorded (`change`: booked, rescheduled, "
            "cancelled, no_show, failed, completed). The window and office, never the home address.",
            _data(AppointmentChangedData),
        ),
        PING: _operation(
            PING, "A test delivery", "Sent when an admin asks for a test (POST .../ping).", ping
        ),
    }
