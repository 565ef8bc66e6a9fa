"""Every ``code`` a problem answer can carry is in ``ProblemCode`` (issue 19); docs/problems.md is current.

The source is read, not run: each call that builds a problem -- ``backend.lib.problems.Problem`` under
any alias, its subclasses, booking's ``WindowError(code, ...)`` and the error handlers'
``problem_body(..., code=...)`` -- must name its code as a literal that the enum lists.
"""

import ast
from pathlib import Path

from backend.lib.problem_codes import DOC, STATUS_CODES, ProblemCode, markdown

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / d for d in ("backend", "notifications", "schemas", "routing")]


def _problem_names(tree: ast.Module) -> set[str]:
    """Names under which this module calls a problem constructor."""
    names = {"problem_body"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "backend.lib.problems":
            names |= {a.asname or a.name for a in node.names if a.name == "Problem"}
    for node in ast.walk(tree):  # subclasses (custody's CodeRefused)
        if isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) in names for b in node.bases):
            names.add(node.name)
    if any(isinstance(n, ast.ClassDef) and n.name == "Problem" for n in tree.body):
        names.add("Problem")  # backend/lib/problems.py itself
    return names


def codes_in_source() -> dict[str, list[str]]:
    """code -> where it is used. A code passed through from a name or attribute (booking's ``err.code``, a
    subclass's ``code``) comes from a literal seen elsewhere; one built by an expression is ``<built>``."""
    found: dict[str, list[str]] = {}
    for root in SOURCES:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = _problem_names(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                args: list[ast.expr] = []
                if called in names or called == "Problem" and isinstance(node.func, ast.Attribute):
                    args = [kw.value for kw in node.keywords if kw.arg == "code"]
                elif called == "WindowError" and node.args:
                    args = [node.args[0]]
                for arg in args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.setdefault(arg.value, []).append(where)
                    elif not isinstance(arg, ast.Name | ast.Attribute | ast.Call):
                        found.setdefault("<built>", []).append(where)
    return found


def test_every_code_in_the_source_is_listed() -> None:
    found = codes_in_source()
    assert len(found) > 100, "the scan found too few problems: has the way they are built changed?"
    listed = {c.value for c in ProblemCode}
    unknown = {code: where for code, where in found.items() if code != "<built>" and code not in listed}
    assert not unknown, f"codes missing from backend/lib/problem_codes.py ProblemCode: {unknown}"
    built = found.get("<built>", [])
    assert not built, f"problem codes built at run time (name a listed code instead): {built}"


def test_the_scan_sees_the_ways_problems_are_built() -> None:
    found = codes_in_source()
    assert "not_custodian_then" in found  # Problem(...)
    assert "plan_in_progress" in found  # imported as HttpProblem
    assert "too_many_wrong_codes" in found  # CodeRefused, a subclass
    assert "not_a_window" in found  # WindowError("not_a_window", ...)
    assert "database_unavailable" in found  # the handlers' problem_body(...)


def test_every_code_is_explained_with_a_real_status() -> None:
    for code in ProblemCode:
        vi, sep, en = code.text.partition(" / ")
        assert sep and vi.strip() and en.strip(), f"{code}: text must be 'Tiếng Việt / English'"
        assert 400 <= code.status < 600, code
    assert all(STATUS_CODES[s].status == s for s in STATUS_CODES)


def test_docs_problems_md_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/problems.md is out of step: run python -m backend.lib.problem_codes"
    )
    assert all(f"`{code.value}`" in markdown() for code in ProblemCode)
