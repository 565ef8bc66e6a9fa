"""App teams generate their clients from the served document (issue 19): openapi-python-client generates one
with no warning, and a citizen's and a courier's day run through it against the app, every answer parsed into
its generated model (an answer the document does not describe raises ``UnexpectedStatus``).

The generator has no type for image answers (proof photos ``image/*``, the plan map ``image/svg+xml``): its
documented ``content_type_overrides`` reads them as bytes, as an app would.
"""

import hashlib
import importlib
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.api.test_booking_flow import PICKUP_CODE, place_of
from tests.api.test_custody_journey import PROCEDURE, office_commune_centre
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONFIG = """\
project_name_override: hoso-client
package_name_override: hoso_client
post_hooks: []
content_type_overrides:
  image/*: application/octet-stream
  image/svg+xml: application/octet-stream
"""
PHONE = "+84920000088"  # a citizen no other test touches
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
_generated: dict[str, ModuleType] = {}  # document hash -> the generated package (one per distinct document)


def generate(document: bytes, where: Path) -> tuple[ModuleType, str]:
    """The generated package and the generator's output."""
    key = hashlib.sha256(document).hexdigest()
    spec = where / "openapi.json"
    spec.write_bytes(document)
    (where / "config.yaml").write_text(CONFIG)
    out = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--output-path", str(where / "hoso_client")]
        + ["--meta", "none", "--config", str(where / "config.yaml"), "--overwrite"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (out.stdout + out.stderr).strip()
    assert out.returncode == 0, output
    if key not in _generated:
        sys.path.insert(0, str(where))
        try:
            for name in [m for m in sys.modules if m == "hoso_client" or m.startswith("hoso_client.")]:
                del sys.modules[name]
            _generated[key] = importlib.import_module("hoso_client")
        finally:
            sys.path.remove(str(where))
    return _generated[key], output


def api(pkg: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{pkg.__name__}.api.{tag}.{operation}")


def model(pkg: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{pkg.__name__}.models"), name)


class Apps:
    """Generated clients on ``app``, each on an httpx client with an ASGI transport (no network)."""

    def __init__(self, pkg: ModuleType, app: Litestar) -> None:
        self.pkg, self.app = pkg, app

    def client(self, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
        raw = httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers, timeout=120
        )
        generated = self.pkg.AuthenticatedClient(
            base_url="http://testserver", token=token or "", raise_on_unexpected_status=True
        )
        generated.set_async_httpx_client(raw)
        return generated

    async def call(self, tag: str, operation: str, want: str, status: int, **kwargs: Any) -> Any:
        """One operation; its answer must have ``status`` and parse into the model named ``want``."""
        response = await api(self.pkg, tag, operation).asyncio_detailed(**kwargs)
        assert response.status_code == status, (operation, response.status_code, response.content[:500])
        assert type(response.parsed).__name__ == want, (
            operation,
            type(response.parsed),
            response.content[:300],
        )
        return response.parsed


async def test_generator_is_clean_and_a_citizen_and_a_courier_get_through(
    client: httpx.AsyncClient, app: Litestar, demo: Any, tmp_path: Path
) -> None:
    served = await client.get("/schema/openapi.json")
    assert served.status_code == 200
    pkg, output = generate(served.content, tmp_path)
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [f"Generating {tmp_path / 'hoso_client'}"], "the generator warned:\n" + output
    apps = Apps(pkg, app)
    anonymous = apps.client()

    # The citizen signs in with a one-time code (a test number's fixed code), books a window, moves it.
    otp = model(pkg, "OtpRequest").from_dict({"phone": PHONE})
    await apps.call("auth", "send_citizen_code", "OtpSent", 202, client=anonymous, body=otp)
    verify = model(pkg, "OtpVerify").from_dict({"phone": PHONE, "code": "123456"})
    token = await apps.call(
        "auth", "verify_citizen_code", "TokenResponse", 200, client=anonymous, body=verify
    )
    citizen = apps.client(token.access_token)
    me = await apps.call("auth", "get_me", "MePublic", 200, client=citizen)
    assert me.role == "citizen" or str(me.role.value) == "citizen"
    lat, lon = place_of(demo, 2)
    kind = model(pkg, "AppointmentKind")("pickup")
    page = await apps.call(
        "citizen_app", "list_slots", "SlotPage", 200, client=anonymous, kind=kind, lat=lat, lon=lon,
        procedure=PICKUP_CODE,
    )  # fmt: skip
    free = [s for s in page.items if s.remaining > 0]
    assert len(free) >= 2, page
    booking = model(pkg, "AppointmentCreate").from_dict(
        {
            "kind": "pickup",
            "start": free[0].start.isoformat(),
            "lat": lat,
            "lon": lon,
            "procedure": PICKUP_CODE,
        }
    )
    booked = await apps.call(
        "citizen_app", "book_appointment", "AppointmentPublic", 201, client=citizen, body=booking,
        idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip
    assert booked.start == free[0].start
    move = model(pkg, "AppointmentReschedule").from_dict(
        {"start": free[1].start.isoformat(), "version": booked.version}
    )
    moved = await apps.call(
        "citizen_app", "reschedule_appointment", "AppointmentPublic", 200, client=citizen,
        appointment_id=booked.id, body=move,
    )  # fmt: skip
    assert moved.start == free[1].start
    again = await apps.call(
        "citizen_app", "get_appointment", "AppointmentPublic", 200, client=citizen, appointment_id=booked.id
    )
    assert again.start == free[1].start
    code = await apps.call("citizen_app", "get_handover_code", "HandoverCode", 200, client=citizen)

    # The courier signs in, reads the day's route, picks the citizen's dossier up and hands it to the office.
    login = model(pkg, "StaffLogin").from_dict({"username": "courier01", "password": DEMO_PASSWORD})
    staff_token = await apps.call("auth", "sign_in_staff", "TokenResponse", 200, client=anonymous, body=login)
    courier = apps.client(staff_token.access_token)
    await apps.call("courier_app", "get_courier_route", "CourierRoute", 200, client=courier)
    procedure = await apps.call(
        "reference", "get_procedure", "ProcedurePublic", 200, client=anonymous, code=PROCEDURE
    )
    home_lat, home_lon = await office_commune_centre(client, "courier01")
    dossier = model(pkg, "DossierCreate").from_dict(
        {
            "procedure": PROCEDURE,
            "channel": "home_pickup",
            "citizen_phone": PHONE,
            "documents": [{"id": d.id, "provided": True, "original": True} for d in procedure.documents],
            "seal_number": "SEAL-0088",
            "fee_collected": 25000,
            "receipt_number": "BL-88",
            "confirmation": {"method": "code", "code": code.code},
            "place": "tại nhà công dân",
            "lat": home_lat,
            "lon": home_lon,
        }
    )
    created = await apps.call(
        "courier_app", "create_dossier", "DossierDetail", 201, client=courier, body=dossier
    )
    item = created.item_id
    office = demo.post_offices[0]  # courier01's and dispatcher01's
    handover = model(pkg, "HandoverCreate").from_dict({"to": office.code, "items": [item]})
    sent = await apps.call(
        "courier_app", "create_handover", "HandoverOut", 201, client=courier, body=handover
    )
    login = model(pkg, "StaffLogin").from_dict({"username": "dispatcher01", "password": DEMO_PASSWORD})
    dispatcher_token = await apps.call(
        "auth", "sign_in_staff", "TokenResponse", 200, client=anonymous, body=login
    )
    dispatcher = apps.client(dispatcher_token.access_token)
    confirm = model(pkg, "HandoverConfirm").from_dict({"scanned": [item]})
    done = await apps.call(
        "courier_app",
        "confirm_handover",
        "HandoverOut",
        200,
        client=dispatcher,
        handover_id=sent.id,
        body=confirm,
    )
    assert str(getattr(done.status, "value", done.status)) == "confirmed"

    # Anyone with the label tracks it; the citizen's inbox tells of the booking and the pickup.
    tracking = await apps.call("citizen_app", "track_item", "Tracking", 200, client=anonymous, item_id=item)
    assert tracking is not None
    inbox = await apps.call("citizen_app", "list_notifications", "InboxPage", 200, client=citizen)
    assert inbox.total >= 2 and len(inbox.items) >= 2
