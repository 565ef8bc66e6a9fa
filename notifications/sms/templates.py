"""SMS texts, beside the push templates (``notifications/templates.py``): Vietnamese first, then English, written
without accents where the gateway needs it (``notifications.sms.text.fit``)."""

SIGN_IN_CODE = (
    "{code} là mã đăng nhập Hồ sơ qua bưu điện, hiệu lực {minutes} phút. Không đưa mã cho ai. / "
    "{code} is your sign-in code, valid {minutes} min. Do not share it."
)


def sign_in_code(code: str, ttl_s: int) -> str:
    return SIGN_IN_CODE.format(code=code, minutes=max(1, ttl_s // 60))
