"""The channel policy's pure parts and the SMS texts (issue 22): every kind that may go by SMS has a text that fits
two GSM-7 segments unaccented with realistic params; quiet hours at their edges; the fallback chain's steps."""

from datetime import UTC, datetime, timedelta

import pytest

from notifications.channels.policy import (
    FALLBACK_KINDS,
    SIGN_IN,
    UNREAD_MATTERS,
    earliest_send,
    in_quiet_hours,
    next_steps,
    quiet_hours_end,
    rule_for,
)
from notifications.sms.templates import NOTICES, notice_text
from notifications.sms.text import fit, is_gsm7, segments
from notifications.templates import TEMPLATES
from schemas.channels import NoticeChannel
from schemas.vntime import VN_TZ

LONG = {
    "item_id": "EA123456789VN",
    "start": "2026-12-07T01:00:00+00:00",
    "old_start": "2026-12-06T01:00:00+00:00",
    "eta": "2026-12-07T02:30:00+00:00",
    "result_due": "2026-12-20",
    "reason": "Không có người nhận tại địa chỉ đăng ký",  # 40 characters
    "courier_name": "Nguyễn Thị Minh Khai",
    "post_office": "Bưu cục Cao Lãnh trung tâm tỉnh Đồng Tháp",
    "agency": "Sở Nông nghiệp và Môi trường tỉnh Đồng Tháp",
    "documents": ["Bản sao CCCD có chứng thực", "Giấy xác nhận cư trú"],
    "appointment_id": "3f0c0d6e-2b1a-4c55-9d0e-6a1f2b3c4d5e",
    "track_url": "https://dichvu.example.vn/v/Zq3xK9pLm2Ty",
    "due_at": "2026-12-08T02:00:00+00:00",
}


def test_every_fallback_kind_has_an_sms_text_and_a_push_template() -> None:
    assert set(NOTICES) == set(FALLBACK_KINDS)
    assert set(NOTICES) <= set(TEMPLATES)
    assert UNREAD_MATTERS <= FALLBACK_KINDS
    assert {"dossier.result_ready", "courier.on_the_way", "dossier.supplement_requested"} <= UNREAD_MATTERS


@pytest.mark.parametrize("kind", sorted(NOTICES))
def test_sms_texts_fit_two_gsm7_segments_unaccented(kind: str) -> None:
    raw = notice_text(kind, {k: v for k, v in LONG.items() if k in TEMPLATES[kind].params})
    text = fit(raw, unicode=False, max_segments=2)  # raises TooLongError past two segments: no cutting here
    assert is_gsm7(text) and segments(text).count <= 2
    assert " / " in text  # Vietnamese first, then English
    if "item_id" in set(TEMPLATES[kind].params):
        assert "EA123456789VN" in text
    if kind == "courier.on_the_way":
        assert str(LONG["track_url"]) in text  # the link comes before anything ``fit`` might cut


def test_quiet_hours_edges_in_vietnam_time() -> None:
    def vn(h: int, m: int = 0) -> datetime:
        return datetime(2026, 12, 7, h, m, tzinfo=VN_TZ).astimezone(UTC)

    assert not in_quiet_hours(vn(20, 59)) and in_quiet_hours(vn(21, 0))
    assert in_quiet_hours(vn(6, 59)) and not in_quiet_hours(vn(7, 0))
    assert quiet_hours_end(vn(23, 30)) == datetime(2026, 12, 8, 7, tzinfo=VN_TZ)
    assert quiet_hours_end(vn(3, 0)) == datetime(2026, 12, 7, 7, tzinfo=VN_TZ)
    assert earliest_send(NoticeChannel.sms, "dossier.result_ready", vn(22)) == datetime(
        2026, 12, 8, 7, tzinfo=VN_TZ
    )
    assert earliest_send(NoticeChannel.zns, "dossier.result_ready", vn(22)) == datetime(
        2026, 12, 8, 7, tzinfo=VN_TZ
    )
    assert earliest_send(NoticeChannel.push, "dossier.result_ready", vn(22)) == vn(22)  # push is not held
    assert earliest_send(NoticeChannel.sms, "auth.sign_in_code", vn(23)) == vn(23)  # sign-in codes never wait
    assert SIGN_IN.channels == (NoticeChannel.sms,) and SIGN_IN.quiet_exempt


def test_rules_push_first_fallbacks_for_citizens_only() -> None:
    assert rule_for("dossier.result_ready", "citizen").channels == (
        NoticeChannel.push,
        NoticeChannel.zns,
        NoticeChannel.sms,
    )
    assert rule_for("dossier.result_ready", "citizen").unread_fallback
    assert not rule_for("dossier.picked_up", "citizen").unread_fallback
    assert rule_for("desk.incoming_batch", "staff").channels == (NoticeChannel.push,)
    assert rule_for("appointment.reminder_hour_before", "citizen").channels == (NoticeChannel.push,)


def test_next_steps_walk_the_chain() -> None:
    every = frozenset(NoticeChannel)
    on = {c: True for c in NoticeChannel}
    steps = next_steps("dossier.result_ready", {}, enabled=on, available=every)
    assert [(s.channel, s.status) for s in steps] == [(NoticeChannel.zns, "pending")]
    steps = next_steps("dossier.result_ready", {NoticeChannel.zns: "failed"}, enabled=on, available=every)
    assert [(s.channel, s.status) for s in steps] == [(NoticeChannel.sms, "pending")]
    assert next_steps("dossier.result_ready", {NoticeChannel.zns: "sent"}, enabled=on, available=every) == []
    assert (
        next_steps("dossier.result_ready", {NoticeChannel.zns: "sending"}, enabled=on, available=every) == []
    )
    no_zns = frozenset({NoticeChannel.push, NoticeChannel.sms})
    steps = next_steps("dossier.result_ready", {}, enabled=on | {NoticeChannel.sms: False}, available=no_zns)
    assert [(s.channel, s.status) for s in steps] == [
        (NoticeChannel.zns, "skipped"),
        (NoticeChannel.sms, "suppressed"),
    ]
    done = {NoticeChannel.zns: "skipped", NoticeChannel.sms: "failed"}
    assert next_steps("dossier.result_ready", done, enabled=on, available=every) == []


def test_costs_per_segment_and_encoding() -> None:
    from notifications.channels.policy import ChannelConfig, sms_cost

    cfg = ChannelConfig(sms_cost_gsm7_vnd=450, sms_cost_ucs2_vnd=850, zns_cost_vnd=300)
    assert sms_cost(cfg, "gsm7", 2) == 900 and sms_cost(cfg, "ucs2", 3) == 2550
    assert timedelta(minutes=30) == ChannelConfig().unread_after


async def test_the_worker_builds_the_channels_the_settings_configure() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from backend.notices.worker import channel_dispatcher
    from backend.settings import Settings

    engine = create_async_engine("sqlite+aiosqlite://")
    plain = channel_dispatcher(engine, Settings(env="test"))
    assert plain.senders == {} and plain.config.available == {
        NoticeChannel.push
    }  # the log sender is no channel
    full = channel_dispatcher(
        engine,
        Settings(
            env="test",
            sms_provider="esms",
            sms_esms_api_key="k",
            sms_esms_secret_key="s",
            sms_brandname="BUUDIEN",
            sms_cost_gsm7_vnd=450,
            zns_app_id="1234",
            zns_secret_key="s",
            zns_oa_secret_key="o",
            zns_refresh_token="r",
            zns_templates="dossier.result_ready=302145",
            sms_rate_per_s=7,
        ),
    )
    assert set(full.senders) == {NoticeChannel.sms, NoticeChannel.zns} and full.config.available == set(
        NoticeChannel
    )
    assert full.rates[NoticeChannel.sms] == 7 and full.config.sms_cost_gsm7_vnd == 450
    await full.aclose()
    await engine.dispose()
