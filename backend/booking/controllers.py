"""HTTP for at-home appointments: slots, booking, reschedule, cancel, no-show and failed visits."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.booking import services, slots_answer
from backend.booking.geocoding import Geocoder, geocoder_for
from backend.lib import answer_cache
from backend.lib.auth import Principal, caller, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.openapi import CITIZEN_APP, CONSOLE, COURIER_APP, problems
from backend.lib.paging import Paging, provide_paging
from backend.lib.responses import LocalTimeResponse
from schemas.booking import (
    AppointmentCancel,
    AppointmentCreate,
    AppointmentKind,
    AppointmentOutcome,
    AppointmentPage,
    AppointmentPublic,
    AppointmentReschedule,
    AppointmentStatus,
    BookingSettingsIn,
    BookingSettingsPublic,
    SlotPage,
)
from schemas.enums import Role


def provide_geocoder(request: Request[Any, Any, Any]) -> Geocoder:
    """``app.state.geocoder`` if set (tests, custom deployments), else one built from ``GEOCODER_URL``."""
    custom: Geocoder | None = getattr(request.app.state, "geocoder", None)
    if custom is not None:
        return custom
    settings = getattr(request.app.state, "settings", None)
    return geocoder_for(getattr(settings, "geocoder_url", "") or "")


GEOCODER = {"geocoder": Provide(provide_geocoder, sync_to_thread=False)}


@get(
    "/slots",
    tags=[CITIZEN_APP],
    exclude_from_auth=True,
    summary="List bookable windows",
    description="The two-hour windows a courier can visit a place for `kind`, with the bookings each still "
    "takes (`remaining`), the post office serving the place and the fee quote (postal charge by distance zone, "
    "plus the procedure's phí and lệ phí at pickup). The place is `lat`/`lon`, else `address` (geocoded), "
    "outside the served area a 422. Days `from`..`to` (Vietnam days; default today to the office's horizon). "
    "Public, no sign-in; read-only; every window in one page. The answer carries an `ETag` (send it back in "
    "`If-None-Match`: 304 while nothing changed) and is kept until a booking, a plan or reference data "
    "changes it.",
    responses=problems(422, 429),
    **answer_cache.public(slots_answer.POLICY),
)
async def list_slots(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    kind: FromQuery[AppointmentKind],
    lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
    address: Annotated[str | None, QueryParameter(max_length=300)] = None,
    first: Annotated[date | None, QueryParameter(name="from")] = None,
    last: Annotated[date | None, QueryParameter(name="to")] = None,
    procedure: Annotated[str | None, QueryParameter(max_length=32)] = None,
) -> Response[SlotPage]:
    check_days(**{"from": first, "to": last})
    return await slots_answer.answer(
        request,
        db_session,
        kind=kind,
        lat=lat,
        lon=lon,
        address=address,
        first=first,
        last=last,
        procedure=procedure,
        # Not a dependency: a second one makes Litestar resolve them in an anyio task group per request.
        geocoder=provide_geocoder(request),
    )


class AppointmentsController(Controller):
    path = "/appointments"
    # Agencies have no purpose to see home appointments (Decree 13/2023/NĐ-CP: least data per purpose).
    guards = [requires(Role.citizen, Role.courier, Role.dispatcher, Role.desk, Role.admin)]
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
        **GEOCODER,
    }

    @post(
        "/",
        guards=[requires(Role.citizen, Role.desk, Role.dispatcher)],
        tags=[CITIZEN_APP],
        summary="Book an appointment",
        description="Citizens for themselves; desk clerks and dispatchers for a citizen (`citizen_phone`, "
        "`channel` desk or phone). Books a window for a home pickup, delivery of a result or assisted filing "
        "(Decision 45/2016/QĐ-TTg; Circular 17/2017/TT-BTTTT art. 5) and takes its place in the window: no "
        "double booking under concurrency (a full window is 409 `window_full`). Send an `Idempotency-Key`: the "
        "same key from the same caller answers the same appointment again (201 with `Idempotent-Replayed: "
        "true`); with a different body it is a 422. Writes the booking event and notifies the citizen "
        "(push and inbox), with reminders before the window.",
        responses=problems(404, 409, 422),
    )
    async def book_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[AppointmentCreate],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
    ) -> Response[AppointmentPublic]:
        # The caller and the geocoder are read here, not injected: one dependency (the session) spares
        # Litestar an anyio task group per request on the hottest write.
        appt, created = await services.book(
            db_session,
            caller(request),
            data,
            idempotency_key=idempotency_key,
            geocoder=provide_geocoder(request),
        )
        if created:  # built with every instant in Vietnam time: encoded as it is (pydantic's own encoder)
            encoded: Any = appt.model_dump_json().encode()  # the schema stays AppointmentPublic's
            return Response(encoded, status_code=201, media_type=MediaType.JSON)
        # LocalTimeResponse, not Response: a Response returned by a handler skips the app's response class,
        # and the earlier booking's instants (read back in UTC) are shown in Vietnam time.
        return LocalTimeResponse(appt, status_code=201, headers={"Idempotent-Replayed": "true"})

    @get(
        "/",
        tags=[CITIZEN_APP],
        summary="List appointments",
        description="Appointments scoped to the caller: citizens their own, dispatchers their post office's, "
        "couriers those on their published routes (phone masked), desk clerks their province's, admins all. "
        "Filter by `status`, `kind`, Vietnam days `from`/`to` and `post_office`; by start time. Staff reads "
        "are written to the personal-data audit (`X-Purpose` says why). Paged (`limit`, `offset`).",
        responses=problems(422),
    )
    async def list_appointments(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        paging: NamedDependency[Paging],
        status: FromQuery[AppointmentStatus | None] = None,
        kind: FromQuery[AppointmentKind | None] = None,
        first: Annotated[date | None, QueryParameter(name="from")] = None,
        last: Annotated[date | None, QueryParameter(name="to")] = None,
        post_office: Annotated[str | None, QueryParameter(max_length=32)] = None,
    ) -> AppointmentPage:
        check_days(**{"from": first, "to": last})
        items, total = await services.list_appointments(
            db_session,
            principal,
            paging,
            status=status,
            kind=kind,
            first=first,
            last=last,
            post_office=post_office,
            access=access_of(request),
        )
        return AppointmentPage(items=items, total=total, limit=paging.limit, offset=paging.offset)

    @get(
        "/{appointment_id:uuid}",
        tags=[CITIZEN_APP],
        summary="Get an appointment",
        description="One appointment with its events, if the caller may see it (the same scope as the list; "
        "else 404). Staff reads are written to the personal-data audit. Read-only.",
        responses=problems(404),
    )
    async def get_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
    ) -> AppointmentPublic:
        appt = await services.visible(db_session, principal, appointment_id)
        return await services.one_public(db_session, principal, appt, access_of(request))

    @patch(
        "/{appointment_id:uuid}",
        tags=[CITIZEN_APP],
        summary="Reschedule an appointment",
        description="The citizen, or staff of the appointment's post office or desk: moves a booked appointment "
        "to another window of the same post office. Citizens may until `cutoff_minutes` before the window "
        "(422 `cutoff_passed`); staff also later. Send the `version` you saw: 409 if it changed meanwhile; a "
        "full window is 409. Writes a `rescheduled` event and notifies the citizen.",
        responses=problems(404, 409, 422),
    )
    async def reschedule_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentReschedule],
    ) -> AppointmentPublic:
        return await services.reschedule(
            db_session, principal, appointment_id, data, access=access_of(request)
        )

    @post(
        "/{appointment_id:uuid}/cancel",
        status_code=200,
        tags=[CITIZEN_APP],
        summary="Cancel an appointment",
        description="The citizen, or staff of the appointment's post office or desk, with a `reason`: frees the "
        "window's place. Citizens may until `cutoff_minutes` before the window (422 `cutoff_passed`). Only a "
        "booked appointment can be cancelled (409 `not_booked`); `version` as for a reschedule. Writes a "
        "`cancelled` event, withdraws the reminders and notifies the citizen.",
        responses=problems(404, 409, 422),
    )
    async def cancel_appointment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentCancel],
    ) -> AppointmentPublic:
        return await services.cancel(db_session, principal, appointment_id, data, access=access_of(request))

    @post(
        "/{appointment_id:uuid}/no-show",
        status_code=200,
        tags=[COURIER_APP],
        summary="Record a no-show",
        description="The courier on the visit or a dispatcher of the office, once the window has started: the "
        "citizen was not there (`reason_code` from citizen_absent, unreachable, wrong_address; else 422). "
        "Writes a `no_show` event and notifies the citizen; with `offer_rebook` "
        "the answer carries `rebook`, the body and next free windows to book again.",
        responses=problems(404, 409, 422),
    )
    async def record_no_show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentOutcome],
    ) -> AppointmentPublic:
        return await services.record_outcome(
            db_session, principal, appointment_id, AppointmentStatus.no_show, data, access=access_of(request)
        )

    @post(
        "/{appointment_id:uuid}/fail",
        status_code=200,
        tags=[COURIER_APP],
        summary="Record a failed visit",
        description="The courier on the visit or a dispatcher of the office, once the window has started: the "
        "visit happened but could not be completed (`reason_code` such as documents_incomplete, fees_not_paid, "
        "citizen_refused; else 422). Writes a `failed` event and notifies the citizen; with `offer_rebook` the "
        "answer carries `rebook`.",
        responses=problems(404, 409, 422),
    )
    async def record_failed_visit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentOutcome],
    ) -> AppointmentPublic:
        return await services.record_outcome(
            db_session, principal, appointment_id, AppointmentStatus.failed, data, access=access_of(request)
        )


class BookingSettingsController(Controller):
    path = "/post-offices/{office:str}/booking-settings"
    tags = [CONSOLE]
    guards = [requires(Role.admin, Role.dispatcher)]
    dependencies = {"principal": Provide(provide_principal)}

    @get(
        "/",
        summary="Get a post office's booking rules",
        description="Admins and the office's dispatchers (`office` is its code or id; not a post office is 404): "
        "window length, notice, horizon, change cut-off, travel allowance and service minutes per kind; "
        "`defaults: true` when the office has none of its own. Read-only.",
        responses=problems(404),
    )
    async def get_booking_settings(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
    ) -> BookingSettingsPublic:
        return BookingSettingsPublic.model_validate(
            await services.get_settings_of(db_session, principal, office)
        )

    @put(
        "/",
        summary="Replace a post office's booking rules",
        description="Admins and the office's dispatchers: replaces the whole set of rules (idempotent). New "
        "listings use them at once in this process and within 10 s in others; booked appointments keep their "
        "windows. No notification is sent.",
        responses=problems(404),
    )
    async def replace_booking_settings(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        data: JSONBody[BookingSettingsIn],
    ) -> BookingSettingsPublic:
        answer = await services.put_settings(db_session, principal, office, data)
        return BookingSettingsPublic.model_validate(answer)


ROUTES: list[Any] = [list_slots, AppointmentsController, BookingSettingsController]
