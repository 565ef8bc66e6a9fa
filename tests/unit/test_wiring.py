"""Issue 18: the wiring is in one place. Importing a module registers nothing (no change subscriptions, no
global ``Session`` hooks, no capacity policy); ``create_app`` wires it all, once however many apps a process
builds; ``backend/app.py`` lists every domain's routes and every lifespan hook; and only
``backend/settings.py`` reads the environment."""

import ast
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import backend

ROOT = Path(__file__).resolve().parents[2]

# Benchmarks and load generators (moving to bench/, issue 18), the CLI entry point, and Alembic's env script
# (which runs migrations when imported) are not imported by the service.
NOT_IMPORTED = re.compile(r"(\.bench$|\.loadgen$|^backend\.__main__$|^backend\.migrations(\.|$))")


def _modules() -> list[str]:
    names = [
        m.name for m in pkgutil.walk_packages(backend.__path__, "backend.") if not NOT_IMPORTED.search(m.name)
    ]
    assert "backend.booking.services" in names and "backend.planning.controllers" in names
    return names


WIRING_STATE = """
import json, sys
from backend.accounts import staff
from backend.booking import capacity, ledger_cache
from backend.lib import pgnotify

def state():
    return {
        "subscriptions": {k: len(v) for k, v in pgnotify.subscriptions().items()},
        "session_hooks": ledger_cache.installed(),
        "policy": type(capacity.get_policy()).__name__,
        "roster_listeners": [f"{f.__module__}.{f.__qualname__}" for f in staff.roster_listeners()],
    }
"""


def _run(code: str, tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "SECRET_KEY": "test-secret-" + "x" * 32,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'wiring.db'}",
        "BOOKING_CAPACITY": "routes",
    }
    out = subprocess.run(
        [sys.executable, "-c", WIRING_STATE + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_modules_registers_nothing_and_create_app_wires_once(tmp_path: Path) -> None:
    imports = "\n".join(f"import {name}" for name in _modules())
    got = _run(
        imports
        + """
before = state()
from backend.app import create_app
create_app()
once = state()
create_app()
print(json.dumps({"before": before, "once": once, "twice": state()}))
""",
        tmp_path,
    )
    assert got["before"] == {
        "subscriptions": {},
        "session_hooks": False,
        "policy": "CourierShiftPolicy",
        "roster_listeners": [],
    }
    once = got["once"]
    assert isinstance(once, dict)
    # auth, booking services and plans listen to reference changes; the ledger cache to its own channel; all
    # four forget their entries when the listener drops or comes back; the answer cache and the plans' stop and
    # route changes (backend/planning/answer_tags.py) hear the answers' channel.
    assert once["subscriptions"] == {"hoso_reference": 4, "hoso_ledger": 1, "hoso_answers": 2, "reset": 5}
    assert once["session_hooks"] is True
    assert once["policy"] == "RouteInsertionPolicy"
    # accounts sits below booking: a staff change reaches booking's caches only through the hook app wires
    assert once["roster_listeners"] == ["backend.booking.services.caches.invalidate_caches"]
    assert got["twice"] == once  # idempotent: a second app adds nothing


def test_app_lists_every_domain_routes_and_lifespan_hook() -> None:
    """A new domain's controllers or background service cannot be forgotten silently."""
    import importlib

    from backend import app

    listed = {id(group) for group in app.ROUTES}
    root_listed = {id(group) for group in app.ROOT_ROUTES}
    controllers = sorted(ROOT.glob("backend/*/controllers.py"))
    assert len(controllers) >= 9
    for path in controllers:
        module = importlib.import_module(f"backend.{path.parent.name}.controllers")
        assert id(module.ROUTES) in listed, path
        if hasattr(module, "ROOT_ROUTES"):
            assert id(module.ROOT_ROUTES) in root_listed, path
    hooks = {(h.__module__, h.__name__) for h in app.LIFESPAN_HOOKS}
    for name in _modules():
        source = ROOT / (name.replace(".", "/") + ".py")
        if source.exists() and "def lifespan_hook(" in source.read_text():
            assert (name, "lifespan_hook") in hooks, name
    assert len(hooks) >= 4


# The library packages keep reading their own environment (routing is a standalone library that must not
# import backend); benchmarks are not the service. backend/__main__.py only sets the demo's defaults into the
# environment before the settings read it.
ENV_ALLOWED = {"backend/settings.py", "backend/__main__.py"}
BENCH = re.compile(r"(/bench\.py|/loadgen\.py)$")


def test_only_settings_reads_the_environment() -> None:
    offenders = []
    for package in ("backend", "notifications", "schemas"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ENV_ALLOWED or BENCH.search(rel):
                continue
            tree = ast.parse(path.read_text(), rel)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in {"environ", "getenv"}
                    or (
                        isinstance(node, ast.ImportFrom)
                        and node.module == "os"
                        and {a.name for a in node.names} & {"environ", "getenv"}
                    )
                ):
                    offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], "read settings through backend/settings.py: " + ", ".join(offenders)


def test_push_sender_is_configured_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """notifications/ reads no environment: the dispatcher passes the sender its settings."""
    from backend.notices import worker
    from backend.settings import ConfigError, Settings

    seen: dict[str, object] = {}
    monkeypatch.setattr(worker, "make_sender", lambda path, **kw: seen.update(path=path, **kw))
    settings = Settings(
        firebase_credentials="/run/secrets/sa.json",
        firebase_project_id="hoso",
        app_link_base="https://app.example/l",
    )
    worker.sender_for(settings)
    assert seen == {
        "path": "/run/secrets/sa.json",
        "project_id": "hoso",
        "link_base": "https://app.example/l",
    }
    with pytest.raises(ConfigError, match="DELIVERY_MAX_ATTEMPTS"):
        Settings(delivery_max_attempts=0).validate()
