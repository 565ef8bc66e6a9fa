"""Fault drills (issue 24): ``python -m bench.drills`` / ``make drills`` runs them and prints a table.

One module per drill, each with ``run_on(url, ...)`` (against a seeded database the caller made) and ``run()``
(its own database): ``kill_worker`` (kill -9 of an API worker during a booking burst), ``redis_down``,
``upload_full``, ``pg_restart`` (PostgreSQL cut behind a TCP proxy), ``pg_real_restart`` (a private cluster
restarted with pg_ctl), ``providers`` (push, Zalo and SMS providers answering 500/429 for a while; its worker
runs through ``dispatch_proxied``), ``backup_restore``. ``common`` starts the service as production does and makes
the throwaway database; ``invariants`` holds the SQL checks a fault must not break. The fast ones are tests too
(``tests/drills``).
"""
