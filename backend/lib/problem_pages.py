"""The pages a problem's ``type`` points to (RFC 9457 §3.1.1): ``/problems`` and ``/problems/{code}``.

Public and static: the text of ``ProblemCode``, nothing about any request or person. Vietnamese first.
"""

from html import escape

from litestar import MediaType, Response, get
from litestar.params import FromPath

from backend.lib.openapi import REFERENCE, problems
from backend.lib.problem_codes import ProblemCode
from backend.lib.problems import not_found

CACHE = "public, max-age=86400"
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _split(text: str) -> tuple[str, str]:
    vi, _, en = text.partition(" / ")
    return vi, en


def render_code(code: ProblemCode) -> str:
    vi, en = _split(code.text)
    return _page(
        f"{code.value} — Hồ sơ qua bưu điện",
        f"<h1><code>{escape(code.value)}</code></h1>"
        f"<p>HTTP {code.status}</p>"
        f'<p lang="vi">{escape(vi)}</p>'
        f'<p lang="en">{escape(en)}</p>'
        '<p><a href="../problems">Tất cả mã lỗi / All problem codes</a></p>',
    )


def render_index() -> str:
    rows = "".join(
        f'<tr><td><a href="problems/{c.value}"><code>{c.value}</code></a></td><td>{c.status}</td>'
        f"<td>{escape(c.text)}</td></tr>"
        for c in ProblemCode
    )
    return _page(
        "Mã lỗi / Problem codes — Hồ sơ qua bưu điện",
        "<h1>Mã lỗi / Problem codes</h1>"
        "<p>Mỗi lỗi là một <code>application/problem+json</code> (RFC 9457) có <code>code</code> cố định. / "
        "Every error is an RFC 9457 problem with a stable <code>code</code>.</p>"
        f"<table><tr><th>code</th><th>HTTP</th><th>ý nghĩa / meaning</th></tr>{rows}</table>",
    )


@get(
    "/problems",
    media_type=MediaType.HTML,
    exclude_from_auth=True,
    tags=[REFERENCE],
    summary="List the problem codes",
    description=(
        "Public HTML page listing every stable `code` an error answer can carry, with its HTTP status and "
        "meaning (Vietnamese, then English). No sign-in; cacheable for a day."
    ),
)
async def list_problem_codes() -> Response[str]:
    return Response(render_index(), media_type=MediaType.HTML, headers={"Cache-Control": CACHE})


@get(
    "/problems/{code:str}",
    media_type=MediaType.HTML,
    exclude_from_auth=True,
    tags=[REFERENCE],
    summary="Explain one problem code",
    description=(
        "Public HTML page a problem answer's `type` URI points to: what the `code` means and what to do, "
        "Vietnamese first then English. No sign-in; cacheable for a day. Unknown codes: 404."
    ),
    responses=problems(404),
)
async def get_problem_code(code: FromPath[str]) -> Response[str]:
    try:
        known = ProblemCode(code)
    except ValueError:
        raise not_found("mã lỗi / problem code", code) from None
    return Response(render_code(known), media_type=MediaType.HTML, headers={"Cache-Control": CACHE})


ROOT_ROUTES = [list_problem_codes, get_problem_code]
