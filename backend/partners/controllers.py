"""HTTP for partner webhooks: an organisation's admin registers endpoints and follows their deliveries."""

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import PARTNERS, problems
from backend.lib.paging import Paging, provide_paging
from backend.partners.services import deliveries, endpoints
from schemas.enums import Role
from schemas.webhooks import (
    DeliveryStatus,
    WebhookDeliveryPage,
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointPublic,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

DEPS = {"principal": Provide(provide_principal), "paging": Provide(provide_paging, sync_to_thread=False)}
WHO = (
    "Admins only: an admin attached to an organisation manages that organisation's endpoints, an admin of the "
    "whole service any organisation's (another organisation's endpoint is a 404 to the former). "
)
KINDS = (
    "Kinds: `dossier.status_changed` (every step of a dossier the organisation is party to: the deciding "
    "agency, the one-stop desk (Bộ phận Một cửa), the post office), `dossier.result_ready` (its result is "
    "ready) and `appointment.changed` (a home appointment at the post office booked, rescheduled, cancelled, "
    "or its outcome). The payloads are this document's `webhooks`; docs/webhooks.md shows how to verify one."
)


def _production(request: Request[Any, Any, Any]) -> bool:
    return bool(request.app.state.settings.is_production)


class WebhooksController(Controller):
    path = "/webhooks"
    tags = [PARTNERS]
    guards = [requires(Role.admin)]
    dependencies = DEPS

    @post(
        "/",
        status_code=201,
        summary="Register a webhook endpoint",
        description=WHO + "Registers a partner system's HTTPS URL for the event kinds it wants. The answer "
        "holds the signing `secret`, shown this once (rotate it if lost). In production the URL must be HTTPS "
        "to a public address (private, loopback and link-local addresses are refused: 422 "
        "`webhook_url_refused`); elsewhere plain http is allowed to localhost. " + KINDS,
        responses=problems(422),
    )
    async def create_webhook(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[WebhookEndpointCreate],
    ) -> WebhookEndpointWithSecret:
        return await endpoints.create(db_session, principal, data, production=_production(request))

    @get(
        "/",
        summary="List webhook endpoints",
        description=WHO + "The endpoints the caller manages, newest first, optionally of one organisation "
        "(`organisation`, its code). Never the secrets. Paged (`limit`, `offset`).",
    )
    async def list_webhooks(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        organisation: Annotated[str | None, QueryParameter(max_length=32)] = None,
    ) -> WebhookEndpointPage:
        items, total = await endpoints.list_endpoints(db_session, principal, paging, organisation)
        return WebhookEndpointPage(items=items, total=total, limit=paging.limit, offset=paging.offset)

    @get(
        "/{webhook_id:uuid}",
        summary="Get a webhook endpoint",
        description=WHO + "One endpoint: URL, kinds, whether it is active. Never the secret. Read-only.",
        responses=problems(404),
    )
    async def get_webhook(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> WebhookEndpointPublic:
        return await endpoints.get(db_session, principal, webhook_id)

    @patch(
        "/{webhook_id:uuid}",
        summary="Change a webhook endpoint",
        description=WHO + "Changes the URL (checked as when registering), the kinds, the description, or "
        "turns it off (`active: false`: no new deliveries are made for it, and waiting ones fail as "
        "`endpoint inactive`) or on again. Each change is recorded with who and when. " + KINDS,
        responses=problems(404, 422),
    )
    async def update_webhook(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookEndpointUpdate],
    ) -> WebhookEndpointPublic:
        return await endpoints.update(
            db_session, principal, webhook_id, data, production=_production(request)
        )

    @delete(
        "/{webhook_id:uuid}",
        status_code=204,
        summary="Delete a webhook endpoint",
        description=WHO + "Removes the endpoint with its deliveries (waiting ones are not sent). The record "
        "of its changes stays.",
        responses=problems(404),
    )
    async def delete_webhook(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> None:
        await endpoints.remove(db_session, principal, webhook_id)

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        status_code=200,
        summary="Rotate a webhook's signing secret",
        description=WHO + "Makes a new signing secret and answers it, this once; every request from now on, "
        "retries included, is signed with it and the old one stops at once (switch the receiver first to "
        "accept both, see docs/webhooks.md).",
        responses=problems(404),
    )
    async def rotate_webhook_secret(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> WebhookEndpointWithSecret:
        return await endpoints.rotate(db_session, principal, webhook_id)

    @post(
        "/{webhook_id:uuid}/ping",
        status_code=202,
        summary="Send a test delivery to a webhook",
        description=WHO + "Queues a signed `webhook.ping` delivery, sent within seconds and retried like any "
        "event; follow it in the endpoint's deliveries. 409 when the endpoint is turned off.",
        responses=problems(404, 409),
    )
    async def ping_webhook(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> WebhookDeliveryPublic:
        return deliveries.public(await endpoints.ping(db_session, principal, webhook_id), [])

    @get(
        "/{webhook_id:uuid}/deliveries",
        summary="List a webhook's recent deliveries",
        description=WHO + "The endpoint's deliveries, newest first, each with its status (pending, sending, "
        "delivered, failed), attempts and every attempt's HTTP status, error and duration; filter by "
        "`status`. Read-only. Paged (`limit`, `offset`).",
        responses=problems(404),
    )
    async def list_webhook_deliveries(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        webhook_id: FromPath[UUID],
        status: Annotated[DeliveryStatus | None, QueryParameter()] = None,
    ) -> WebhookDeliveryPage:
        items, total = await deliveries.list_deliveries(db_session, principal, webhook_id, paging, status)
        return WebhookDeliveryPage(items=items, total=total, limit=paging.limit, offset=paging.offset)


ROUTES: list[Any] = [WebhooksController]
