#!/usr/bin/env bash
# Until the first release there is one initial migration, regenerated from the models.
# After a release, add new revisions with `make migration m="..."` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f backend/migrations/versions/0001_initial.py
DATABASE_URL="sqlite+aiosqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate --rev-id 0001 -m initial >/dev/null
.venv/bin/ruff format -q backend/migrations/versions/ || true
rm -rf "$tmp"
echo "regenerated backend/migrations/versions/0001_initial.py"
