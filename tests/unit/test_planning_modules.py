"""backend/planning stays in small modules without import cycles (issue 18: services.py, 913 lines, became a
package). A cycle used to be dodged by an import inside ``PlanRunner.run``; imports inside functions are
therefore refused here, and importing the worker first (as the app's wiring may) must work."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLANNING = ROOT / "backend" / "planning"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    found = sorted(PLANNING.rglob("*.py"))
    assert PLANNING / "services" / "__init__.py" in found  # scanning the real tree
    return found


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_no_module_or_function_is_too_long() -> None:
    long: list[str] = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if text.count("\n") > MAX_MODULE_LINES:
            long.append(f"{name}: {text.count(chr(10))} lines")
        for fn in _functions(ast.parse(text)):
            size = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if size > MAX_FUNCTION_LINES:
                long.append(f"{name}:{fn.lineno} {fn.name}: {size} lines")
    assert long == []


def test_no_import_inside_a_function() -> None:
    inside = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules()
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8")))
        for node in ast.walk(fn)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert inside == []


def test_services_reexport_what_the_rest_of_the_code_uses() -> None:
    code = (
        "import backend.planning.worker\n"  # first, on its own: the services must not need the worker
        "from backend.planning import services\n"
        "missing = [n for n in services.__all__ if not hasattr(services, n)]\n"
        "used = ['create_plan', 'list_plans', 'plan_detail', 'plan_map', 'publish', 'replan', 'prepare_solve',\n"
        "        'store_solution', 'bump_appointment', 'window_of', 'latest_position', 'post_office']\n"
        "assert not missing and set(used) <= set(services.__all__), (missing, set(used) - set(services.__all__))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
