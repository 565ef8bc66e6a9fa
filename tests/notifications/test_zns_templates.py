"""ZNS templates as configuration (``ZNS_TEMPLATES``) and ZNS settings' checks (issue 22)."""

from datetime import UTC, datetime

import pytest

from backend.settings import ConfigError, Settings
from notifications.zns.templates import PARAMS, TemplateConfigError, parse, template_data


def test_the_simple_form_uses_the_kinds_parameters() -> None:
    templates = parse(" dossier.result_ready=302145 , courier.on_the_way=302146 ")
    assert templates["dossier.result_ready"].template_id == "302145"
    assert dict(templates["courier.on_the_way"].params) == PARAMS["courier.on_the_way"]
    # the same pairs the channel dispatcher reads
    settings = Settings(env="test", zns_templates="dossier.result_ready=302145,courier.on_the_way=302146")
    assert settings.zns_template_ids() == {k: t.template_id for k, t in templates.items()}
    assert parse("") == {}


def test_the_json_form_renames_parameters() -> None:
    [t] = parse('{"dossier.result_ready": {"id": "302145", "params": {"ma_ho_so": "item_id"}}}').values()
    assert template_data(t, {"item_id": "BD0000001VN", "other": "x"}) == {"ma_ho_so": "BD0000001VN"}


@pytest.mark.parametrize(
    "spec",
    [
        "dossier.result_ready",  # no id
        "dossier.result_ready=30 21",  # not an id
        "desk.incoming_batch=302145",  # a staff kind with no ZNS parameters
        '{"dossier.result_ready": {"id": "1"}}',  # no params
        "{not json",
    ],
)
def test_bad_template_maps_are_refused(spec: str) -> None:
    with pytest.raises(TemplateConfigError):
        parse(spec)


def test_values_are_shown_in_vietnam_time_and_cut_to_the_types_length() -> None:
    t = parse("courier.on_the_way=1,dossier.supplement_requested=2")
    eta = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    link = "https://hoso.example.vn/v/" + "A" * 22
    data = template_data(
        t["courier.on_the_way"], {"courier_name": "Nguyễn Văn " + "A" * 40, "eta": eta, "track_url": link}
    )
    assert data["eta"] == "08:30 06/12/2026" and data["track_url"] == link  # the link whole
    assert len(data["courier_name"]) == 30 and data["courier_name"].endswith("…")
    docs = template_data(
        t["dossier.supplement_requested"], {"item_id": "X", "documents": ["CCCD", "Sổ hộ khẩu"]}
    )
    assert docs["documents"] == "CCCD, Sổ hộ khẩu"
    with pytest.raises(KeyError):
        template_data(t["courier.on_the_way"], {"eta": eta})


def _zns(**over: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "zns_app_id": "123",
        "zns_secret_key": "s",
        "zns_oa_secret_key": "o",
        "zns_refresh_token": "r",
        **over,
    }
    return Settings(**values)  # type: ignore[arg-type]


def test_zns_settings_fail_closed() -> None:
    _zns().validate()
    Settings(env="test").validate()  # ZNS off: nothing needed
    for missing in ("zns_secret_key", "zns_oa_secret_key", "zns_refresh_token"):
        with pytest.raises(ConfigError, match="ZNS_APP_ID is set"):
            _zns(**{missing: ""}).validate()
    with pytest.raises(ConfigError, match="ZNS_TEMPLATES"):
        _zns(zns_templates="dossier.result_ready").validate()
    production = {"secret_key": "k" * 40, "firebase_project_id": "p", "otp_test_numbers": "",
                  "public_base_url": "https://hoso.example.vn"}  # fmt: skip
    with pytest.raises(ConfigError, match="HTTPS"):
        _zns(env="production", zns_base_url="http://127.0.0.1:9", **production).validate()
    with pytest.raises(ConfigError, match="ZNS_DEVELOPMENT"):
        _zns(env="production", zns_development=True, **production).validate()
