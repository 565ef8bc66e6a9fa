"""HTTP for at-home appointments: slots, booking, reschedule, cancel, no-show and failed visits."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit.services import access_of
from backend.booking import services
from backend.booking.geocoding import Geocoder, geocoder_for
from backend.lib.auth import Principal, caller, provide_principal, requires
from backend.lib.dates import check_days
from backend.lib.paging import Paging, page, provide_paging
from backend.lib.responses import LocalTimeResponse
from schemas.booking import (
    AppointmentCancel,
    AppointmentCreate,
    AppointmentKind,
    AppointmentOutcome,
    AppointmentPublic,
    AppointmentReschedule,
    AppointmentStatus,
    BookingSettingsIn,
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


@get("/slots", tags=["appointments"], exclude_from_auth=True)
async def slots(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    kind: FromQuery[AppointmentKind],
    lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
    address: Annotated[str | None, QueryParameter(max_length=300)] = None,
    first: Annotated[date | None, QueryParameter(name="from")] = None,
    last: Annotated[date | None, QueryParameter(name="to")] = None,
    procedure: Annotated[str | None, QueryParameter(max_length=32)] = None,
) -> Response[dict[str, Any]]:
    """Bookable windows at a place with their remaining capacity for ``kind``, plus the fee quote."""
    check_days(**{"from": first, "to": last})
    listing = await services.list_slots(
        db_session,
        kind=kind,
        lat=lat,
        lon=lon,
        address=address,
        first=first,
        last=last,
        procedure_code=procedure,
        # Not a dependency: a second one makes Litestar resolve them in an anyio task group per request.
        geocoder=provide_geocoder(request),
    )
    # The listing's times are already Vietnam-time strings: a plain response skips LocalTimeResponse's walk.
    return Response(listing)


class AppointmentsController(Controller):
    path = "/appointments"
    tags = ["appointments"]
    # Agencies have no purpose to see home appointments (Decree 13/2023/NĐ-CP: least data per purpose).
    guards = [requires(Role.citizen, Role.courier, Role.dispatcher, Role.desk, Role.admin)]
    dependencies = {
        "principal": Provide(provide_principal),
        "paging": Provide(provide_paging, sync_to_thread=False),
        **GEOCODER,
    }

    @post("/", guards=[requires(Role.citizen, Role.desk, Role.dispatcher)])
    async def book(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[AppointmentCreate],
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
    ) -> Response[AppointmentPublic]:
        """Book a window (201). The same ``Idempotency-Key`` from the same caller returns the same
        appointment; with a different body it is a 422. A full window is a 409."""
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

    @get("/")
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
    ) -> dict[str, Any]:
        """Appointments scoped to the caller: citizens their own, dispatchers their post office's, couriers those
        on their published routes (phone masked), desk clerks their province's, admins all. Staff reads are
        audited (``X-Purpose`` says why)."""
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
        return page(items, total, paging)

    @get("/{appointment_id:uuid}")
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
    ) -> AppointmentPublic:
        appt = await services.visible(db_session, principal, appointment_id)
        return await services.one_public(db_session, principal, appt, access_of(request))

    @patch("/{appointment_id:uuid}")
    async def reschedule(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentReschedule],
    ) -> AppointmentPublic:
        """Move to another window of the same post office (closes ``cutoff_minutes`` before the window)."""
        return await services.reschedule(
            db_session, principal, appointment_id, data, access=access_of(request)
        )

    @post("/{appointment_id:uuid}/cancel", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentCancel],
    ) -> AppointmentPublic:
        return await services.cancel(db_session, principal, appointment_id, data, access=access_of(request))

    @post("/{appointment_id:uuid}/no-show", status_code=200)
    async def no_show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentOutcome],
    ) -> AppointmentPublic:
        """Courier or dispatcher: the citizen was not there (reason codes in ``schemas.booking.NO_SHOW_REASONS``)."""
        return await services.record_outcome(
            db_session, principal, appointment_id, AppointmentStatus.no_show, data, access=access_of(request)
        )

    @post("/{appointment_id:uuid}/fail", status_code=200)
    async def fail(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentOutcome],
    ) -> AppointmentPublic:
        """Courier or dispatcher: the visit could not be completed (``schemas.booking.FAILED_REASONS``)."""
        return await services.record_outcome(
            db_session, principal, appointment_id, AppointmentStatus.failed, data, access=access_of(request)
        )


class BookingSettingsController(Controller):
    path = "/post-offices/{office:str}/booking-settings"
    tags = ["appointments"]
    guards = [requires(Role.admin, Role.dispatcher)]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/")
    async def show(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
    ) -> dict[str, Any]:
        """The office's booking rules (``defaults: true`` when it has none of its own)."""
        return await services.get_settings_of(db_session, principal, office)

    @put("/")
    async def replace(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        office: FromPath[str],
        data: JSONBody[BookingSettingsIn],
    ) -> dict[str, Any]:
        """Replace the rules: window length, notice, horizon, change cut-off, travel allowance, service
        minutes per kind. Booked appointments keep their windows."""
        return await services.put_settings(db_session, principal, office, data)


ROUTES: list[Any] = [slots, AppointmentsController, BookingSettingsController]
