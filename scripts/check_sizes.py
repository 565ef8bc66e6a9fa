"""Size guard for `make lint` (issue 18): no module of the shipped packages over 500 lines and no function over
80, so a file or a function that grows past what one reader holds in mind fails CI instead of a review.

Usage: ``python scripts/check_sizes.py [ROOT]``; prints each offender and exits 1 if there is one. Alembic
migrations are exempt (generated, append-only). A function may be exempted below only with the reason.
"""

import ast
import sys
from pathlib import Path

PACKAGES = ("backend", "notifications", "schemas", "routing")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
EXEMPT_DIRS = ("backend/migrations/versions",)

# path -> why the module may stay long; "path:qualified.name" -> why the function may. Only where splitting
# costs something measurable or breaks a tool.
EXEMPT_MODULES: dict[str, str] = {
    "routing/sisr_kernel.py": "numba's cache=True is invalidated only by changes to a function's own file: "
    "split across modules, an edited kernel helper would leave its callers' cached machine code stale",
}
EXEMPT_FUNCTIONS: dict[str, str] = {}


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((prefix + child.name, child))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def _length(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first decorator (or ``def``) to the last line of the body, docstring and blanks
    included: what a reader scrolls through."""
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    return (fn.end_lineno or fn.lineno) - first + 1


def offenders(root: Path) -> list[str]:
    out: list[str] = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(EXEMPT_DIRS):
                continue
            source = path.read_text(encoding="utf-8")
            lines = len(source.splitlines())
            if lines > MAX_MODULE_LINES and rel not in EXEMPT_MODULES:
                out.append(f"{rel}: module has {lines} lines (max {MAX_MODULE_LINES})")
            for name, fn in _functions(ast.parse(source, filename=rel)):
                n = _length(fn)
                if n > MAX_FUNCTION_LINES and f"{rel}:{name}" not in EXEMPT_FUNCTIONS:
                    out.append(f"{rel}:{fn.lineno}: {name} has {n} lines (max {MAX_FUNCTION_LINES})")
    return out


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    found = offenders(root)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
