"""Benchmarks, the load generator and the fakes they share with the tests (issue 18).

A development tool, run from the repository root (``python -m bench.booking``, ``python -m bench.notifications``,
``python -m bench.reporting``; ``make bench`` runs them all). Not an installed package and not in the image:
``pyproject.toml`` installs only ``backend``, ``routing``, ``notifications`` and ``schemas``, the Dockerfile copies
only those, and ``tests/unit/test_layers.py`` fails if any of them imports ``bench`` or ``tests``.
``python -m routing.bench`` (solving instance files) stays in the routing library, whose documented command it is.
"""
