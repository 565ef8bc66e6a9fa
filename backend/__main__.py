"""Command line: ``python -m backend COMMAND``.

migrate            apply Alembic migrations to DATABASE_URL
seed-demo          load reference data and the demo province (idempotent)
serve              run the API (HOST, PORT)
run                migrate, seed the demo, print the demo accounts, serve
import-dossiers F  import past dossiers from a CSV file (see backend/reporting)
dispatch           the outbox dispatcher, partner webhooks and return-offer sweep (RUN_DISPATCHER=false elsewhere)
solver-worker      solve route plans queued on SAQ (PLAN_QUEUE=saq, REDIS_URL; SOLVER_CONCURRENCY at once)

Each command imports what it runs inside its own function, on purpose: ``migrate`` or ``dispatch`` need not
load the web app, the route optimiser or the demo, and the serving parent loads no more than Granian needs
before it forks its workers. With ``backend/server.py``'s ``worker_app`` these are the only imports of backend's
own modules inside functions (issue 18: none hides a cycle; ``make lint`` checks the layers).
"""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import MutableMapping

from backend.settings import ConfigError, get_settings


def _migrate() -> None:
    from backend.migrations import upgrade

    upgrade(get_settings().database_url)


async def _seed(*, history_later: bool = False) -> dict[str, object]:
    from backend.db import make_engine
    from backend.demo import seed_all

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        return await seed_all(engine, password=settings.demo_password, history_later=history_later)
    finally:
        await engine.dispose()


async def _dispatch() -> None:
    import signal

    from backend.custody import return_worker
    from backend.db import make_engine
    from backend.money import scheduler as money_scheduler
    from backend.notices.worker import run
    from backend.partners import worker as partners_worker

    engine = make_engine(get_settings().database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Issue 20: the return-offer sweep books unanswered return offers (backend/custody/return_worker.py).
        await asyncio.gather(
            run(engine, stop),
            partners_worker.run(engine, stop, get_settings()),
            return_worker.run(engine, stop, get_settings().return_sweep_s),
            # Issue 21: dues backfill and remittance batches, leased (backend/money/scheduler.py).
            *(
                [money_scheduler.run(engine, stop, get_settings())]
                if get_settings().money_sweep_s > 0
                else []
            ),
        )
    finally:
        await engine.dispose()


def _solver_worker() -> int:
    from backend.planning.jobs import run_worker

    settings = get_settings()
    if settings.plan_queue != "saq":
        print("refusing to start: solver-worker needs PLAN_QUEUE=saq (and REDIS_URL)", file=sys.stderr)
        return 2
    asyncio.run(run_worker(settings))
    return 0


DEMO_TEST_NUMBERS = "+84900000001-+84900000099:123456"


def demo_environment(command: str, environ: MutableMapping[str, str]) -> bool:
    """``run`` is the demo: its citizens sign in with fixed codes, like Firebase's test phone numbers, unless
    the operator set other numbers; never in production. Returns whether it changed ``environ``."""
    if (
        command != "run"
        or environ.get("APP_ENV", "production") == "production"
        or "OTP_TEST_NUMBERS" in environ
    ):
        return False
    environ["OTP_TEST_NUMBERS"] = DEMO_TEST_NUMBERS
    return True


DEMO_COMMANDS = {"run", "seed-demo"}


def refuse_unsafe(command: str) -> None:
    """Fail closed before doing anything: an unsafe configuration, the demo in production, or (serving in
    production) a database whose demo accounts still open with the README's password."""
    settings = get_settings()
    settings.validate()
    if not settings.is_production:
        return
    if command in DEMO_COMMANDS:
        raise ConfigError(
            f"'{command}' loads the demo (published passwords and test sign-in codes) and is refused in "
            "production; set APP_ENV=development for a demo (make run does)"
        )
    if command == "serve":
        found = asyncio.run(_published_password_accounts())
        if found:
            raise ConfigError(
                f"staff accounts {', '.join(found)} open with the demo's published password: this database "
                "holds the demo; change their passwords or disable them before serving in production"
            )


async def _published_password_accounts() -> list[str]:
    from backend.accounts.known_passwords import accounts_opening_with_published_passwords
    from backend.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        return await accounts_opening_with_published_passwords(engine, (settings.demo_password,))
    finally:
        await engine.dispose()


def _print_accounts() -> None:
    s = get_settings()
    print(
        "\nDemo accounts (password: DEMO_PASSWORD, default demo1234):\n"
        "  admin                      administrator\n"
        "  dispatcher01 … dispatcher12  post-office dispatchers\n"
        "  courier01 … courier24        couriers (bưu tá)\n"
        "  desk01 (provincial centre), desk02 … desk13  one-stop desk clerks\n"
        "  agency01 (Sở Tư pháp), agency02 (Sở NN&MT), agency03 …  agency officers\n"
        "  citizens: +84900000001 … +84900000099 with code 123456 (POST /api/v1/auth/citizen/verify)\n"
        f"\nAPI: http://{s.host}:{s.port}/api/v1   docs: http://{s.host}:{s.port}/schema\n"
    )


def _serve() -> int:
    from backend.server import serve

    settings = get_settings()
    return serve(settings, log_access=settings.access_log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate")
    sub.add_parser("seed-demo")
    sub.add_parser("serve")
    sub.add_parser("run")
    sub.add_parser("dispatch")
    sub.add_parser("solver-worker")
    imp = sub.add_parser("import-dossiers")
    imp.add_argument("file")
    imp.add_argument("--org", default=None, help="organisation code the dossiers belong to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if demo_environment(args.command, os.environ):
        get_settings.cache_clear()
    try:
        refuse_unsafe(args.command)
    except ConfigError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        _migrate()
    elif args.command == "seed-demo":
        print(asyncio.run(_seed()))
    elif args.command == "serve":
        return _serve()
    elif args.command == "run":
        _migrate()
        # The demo's two years of history are written after the service answers (backend/demo/background.py).
        print(asyncio.run(_seed(history_later=True)))
        _print_accounts()
        return _serve()
    elif args.command == "dispatch":
        asyncio.run(_dispatch())
    elif args.command == "solver-worker":
        return _solver_worker()
    elif args.command == "import-dossiers":
        from backend.reporting.importer import main as import_main

        return int(import_main(args.file, args.org))
    return 0


if __name__ == "__main__":
    sys.exit(main())
