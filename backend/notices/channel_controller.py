"""HTTP for a citizen's notification channels: ``GET/PUT /citizens/me/channels`` (issue 22)."""

from typing import Any

from litestar import Request, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.events import client_ip_of
from backend.lib.auth import Principal, provide_principal, requires
from backend.lib.openapi import CITIZEN_APP, problems
from backend.notices import channel_prefs
from schemas.channels import ChannelSettings, ChannelSettingsIn
from schemas.enums import Role

DEPS = {"principal": Provide(provide_principal)}


@get(
    "/citizens/me/channels",
    guards=[requires(Role.citizen)],
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="List my notification channels",
    description="Citizens only, their own choices: push (the app), SMS and Zalo ZNS, each on or off (on unless "
    "switched off), with what the service does with them, in both languages. Read-only.",
)
async def get_my_channels(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
) -> ChannelSettings:
    return await channel_prefs.current(db_session, principal.id)


@put(
    "/citizens/me/channels",
    guards=[requires(Role.citizen)],
    tags=[CITIZEN_APP],
    dependencies=DEPS,
    summary="Switch my notification channels on or off",
    description="Citizens only, their own choices: the channels listed in `choices` are switched on or off, the others keep "
    "their setting. Switching one off is a STOP: the caller's notices not yet sent on it are suppressed at once "
    "(a message already with the provider cannot be called back) and the next channel of the policy is tried. "
    "Each change is recorded with who, when and from where. Sign-in codes always go by SMS. Answers the "
    "settings after the change; idempotent.",
    responses=problems(400),
)
async def put_my_channels(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    data: JSONBody[ChannelSettingsIn],
) -> ChannelSettings:
    return await channel_prefs.change(db_session, principal, data, client_ip_of(request))


ROUTES: list[Any] = [get_my_channels, put_my_channels]
