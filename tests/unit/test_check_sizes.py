"""scripts/check_sizes.py (make lint): a module over 500 lines or a function over 80 fails, decorators and methods
counted, migrations and the listed exemptions not."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_sizes", ROOT / "scripts" / "check_sizes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(name: str, body_lines: int, indent: str = "") -> str:
    return f"{indent}def {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(body_lines - 1))


def test_long_modules_and_functions_are_reported(tmp_path: Path) -> None:
    guard = _guard()
    for package in guard.PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "backend" / "ok.py").write_text(_function("short", 80))
    (tmp_path / "backend" / "long_fn.py").write_text("@decorator\n" + _function("long", 80))
    nested = "class C:\n" + _function("method", 10, "    ") + _function("long_method", 81, "    ")
    (tmp_path / "routing" / "nested.py").write_text(nested)
    (tmp_path / "schemas" / "big.py").write_text("x = 1\n" * 501)
    (tmp_path / "backend" / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "backend" / "migrations" / "versions" / "0001.py").write_text(_function("upgrade", 300))
    found = guard.offenders(tmp_path)
    assert found == [
        "backend/long_fn.py:2: long has 81 lines (max 80)",
        "schemas/big.py: module has 501 lines (max 500)",
        "routing/nested.py:12: C.long_method has 81 lines (max 80)",
    ]


def test_exempt_modules_are_skipped_only_for_their_length(tmp_path: Path) -> None:
    guard = _guard()
    for package in guard.PACKAGES:
        (tmp_path / package).mkdir()
    exempt = next(iter(guard.EXEMPT_MODULES))
    (tmp_path / exempt).write_text("x = 1\n" * 600 + _function("long", 81))
    assert guard.offenders(tmp_path) == [f"{exempt}:601: long has 81 lines (max 80)"]
