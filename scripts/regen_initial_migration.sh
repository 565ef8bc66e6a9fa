#!/usr/bin/env bash
# Before the first release there was one initial migration, regenerated from the models. Revision 0001 has
# now landed: add new revisions with `make migration m="..."` instead; running this would rewrite history.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f backend/migrations/versions/0001_initial.py
DATABASE_URL="sqlite+aiosqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate --rev-id 0001 -m initial >/dev/null
.venv/bin/ruff format -q backend/migrations/versions/ || true
rm -rf "$tmp"
echo "regenerated backend/migrations/versions/0001_initial.py"
