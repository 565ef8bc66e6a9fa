"""The eSMS.vn adapter against a gateway on 127.0.0.1 that speaks eSMS's documented API
(bench/fakes/esms_server.py): the request it builds, and each answer mapped to sent, retry or fatal."""

import socket
from collections.abc import Iterator

import pytest

from bench.fakes.esms_server import FakeEsms
from notifications.sms import Outcome, SmsSender
from notifications.sms.esms import EsmsConfig, EsmsSender, ReportStatus, parse_report


@pytest.fixture
def gateway() -> Iterator[FakeEsms]:
    fake = FakeEsms().start()
    yield fake
    fake.stop()


def _sender(fake: FakeEsms, **over: str) -> EsmsSender:
    config = {"api_key": fake.api_key, "secret_key": fake.secret_key, "brandname": fake.brandname, **over}
    return EsmsSender(
        EsmsConfig(base_url=fake.base_url, callback_url="https://api.example.vn/cb/t", **config)
    )


async def test_a_message_is_taken(gateway: FakeEsms) -> None:
    sender = _sender(gateway)
    assert isinstance(sender, SmsSender)
    try:
        result = await sender.send("+84912345678", "123456 la ma", request_id="r1", unicode=False)
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.sent and result.provider == "esms"
    [sent] = gateway.sent
    assert result.message_id == sent.sms_id
    assert (sent.phone, sent.content, sent.request_id, sent.unicode) == (
        "0912345678",
        "123456 la ma",
        "r1",
        "0",
    )
    assert sent.callback_url == "https://api.example.vn/cb/t"


@pytest.mark.parametrize(
    ("over", "code"),
    [({"secret_key": "wrong"}, "101"), ({"api_key": "wrong"}, "101"), ({"brandname": "OTHER"}, "104")],
)
async def test_refusals_are_fatal(gateway: FakeEsms, over: dict[str, str], code: str) -> None:
    sender = _sender(gateway, **over)
    try:
        result = await sender.send("+84912345678", "x", request_id="r2", unicode=False)
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.fatal and result.error is not None and result.error.startswith(code)
    assert not gateway.sent


async def test_a_repeated_request_id_is_not_sent_twice(gateway: FakeEsms) -> None:
    sender = _sender(gateway)
    try:
        first = await sender.send("+84912345678", "x", request_id="same", unicode=False)
        again = await sender.send("+84912345678", "x", request_id="same", unicode=False)
    finally:
        await sender.aclose()
    assert first.outcome is Outcome.sent
    assert again.outcome is Outcome.fatal and again.error is not None and again.error.startswith("124")
    assert len(gateway.sent) == 1


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(429, {"Retry-After": "17"}, 17.0), (429, {}, 30.0), (500, {}, 30.0), (503, {"Retry-After": "5"}, 5.0)],
)
async def test_rate_limits_and_outages_are_retried(
    gateway: FakeEsms, status: int, headers: dict[str, str], wait: float
) -> None:
    gateway.script.append((status, headers))
    sender = _sender(gateway)
    try:
        result = await sender.send("+84912345678", "x", request_id="r3", unicode=True)
        after = await sender.send("+84912345678", "x", request_id="r3", unicode=True)
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.retry and result.retry_after_s == wait
    assert after.outcome is Outcome.sent and gateway.sent[0].unicode == "1"


async def test_a_gateway_down_is_retried() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    sender = EsmsSender(EsmsConfig("k", "s", "B", base_url=f"http://127.0.0.1:{port}"))
    try:
        result = await sender.send("+84912345678", "x", request_id="r4", unicode=False)
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.retry and result.retry_after_s


@pytest.mark.parametrize(
    ("query", "status", "cost"),
    [
        (
            {"SMSID": "a", "SendStatus": "5", "SendSuccess": "1", "SendFailed": "0", "Totalprice": "800"},
            ReportStatus.delivered,
            800,
        ),
        ({"SMSID": "a", "SendStatus": "5", "SendSuccess": "0", "SendFailed": "1"}, ReportStatus.failed, None),
        ({"SMSID": "a", "SendStatus": "4"}, ReportStatus.failed, None),
        ({"SMSID": "a", "SendStatus": "7"}, ReportStatus.pending, None),
        ({"SMSID": "a", "SendStatus": "2"}, ReportStatus.pending, None),
    ],
)
def test_delivery_reports(query: dict[str, str], status: ReportStatus, cost: int | None) -> None:
    report = parse_report(query)
    assert report is not None and (report.status, report.cost_vnd) == (status, cost)
    assert parse_report({"SendStatus": "5"}) is None
