"""Imports every table module so ``SQLModel.metadata`` is complete (Alembic, tests, the app)."""

import importlib
import pkgutil

import schemas

for _mod in pkgutil.iter_modules(schemas.__path__):
    if _mod.name not in {"tables"}:
        importlib.import_module(f"schemas.{_mod.name}")
