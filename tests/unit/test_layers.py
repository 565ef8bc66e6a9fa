"""The shipped packages never import the benchmarks or the tests, and the libraries never import the app.

``backend``, ``routing``, ``notifications`` and ``schemas`` are what ``pyproject.toml`` installs and the image
carries; ``bench/`` and ``tests/`` are not there, so an import of either would fail in production (issue 18).
The house's layer rule: ``routing``, ``notifications`` and ``schemas`` are libraries the app uses, never the
other way round. Every import statement counts, including those inside functions, and so does
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("backend", "routing", "notifications", "schemas")
NEVER = {pkg: {"bench", "tests"} for pkg in SHIPPED} | {
    lib: {"bench", "tests", "backend"} for lib in ("routing", "notifications", "schemas")
}


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``; relative imports stay in their package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in {"__import__", "import_module"})
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(root: Path) -> list[str]:
    """Every forbidden import in the shipped packages under ``root``, as ``path:line imports name``."""
    bad: list[str] = []
    for pkg, forbidden in NEVER.items():
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, name in _imported(tree):
                if name.split(".")[0] in forbidden:
                    bad.append(f"{path.relative_to(root)}:{line} imports {name}")
    return bad


def test_shipped_packages_import_neither_bench_nor_tests_and_libraries_not_backend() -> None:
    assert all((ROOT / pkg / "__init__.py").is_file() for pkg in SHIPPED)  # scanning the real tree
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("pkg", "source"),
    [
        ("backend", "import bench.loadgen\n"),
        ("backend", "def f():\n    from tests.fakes.fcm_server import FakeFcm\n"),
        ("notifications", "from bench import loadgen\n"),
        ("schemas", "import tests\n"),
        ("routing", "from backend.settings import settings\n"),
        ("notifications", "import backend\n"),
        ("schemas", "import importlib\nimportlib.import_module('backend.db')\n"),
        ("routing", "__import__('tests.conftest')\n"),
    ],
)
def test_the_scan_catches_each_kind_of_forbidden_import(tmp_path: Path, pkg: str, source: str) -> None:
    for name in SHIPPED:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("from . import sibling\nimport routing\n")
    (tmp_path / pkg / "bad.py").write_text(source)
    assert violations(tmp_path) == [f"{pkg}/bad.py:{source.count(chr(10))} imports {_name(source)}"]


def test_the_scan_allows_what_the_layers_allow(tmp_path: Path) -> None:
    for name in SHIPPED:
        (tmp_path / name).mkdir()
    (tmp_path / "backend" / "ok.py").write_text(
        "import routing\nfrom schemas.base import utcnow\nfrom notifications import push\n"
    )
    (tmp_path / "routing" / "ok.py").write_text("from routing.bench import instances\nfrom . import solver\n")
    (tmp_path / "notifications" / "ok.py").write_text("from schemas.notifications import Notification\n")
    (tmp_path / "schemas" / "ok.py").write_text("import benchmark_tools\nimport testsuite\n")
    assert violations(tmp_path) == []


def _name(source: str) -> str:
    tree = ast.parse(source)
    return _imported(tree)[-1][1]
