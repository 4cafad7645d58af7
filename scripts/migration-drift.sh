#!/usr/bin/env bash
# The models and the migrations agree: `flask db check` (Alembic's autogenerate finds nothing to
# add) on a fresh database migrated to the head. The database is PostgreSQL's when run under
# scripts/pg-test-cluster.sh (TEST_DATABASE_URL), else SQLite in a temporary instance folder.
set -euo pipefail
cd "$(dirname "$0")/.."
instance=$(mktemp -d)
trap 'rm -rf "$instance"' EXIT
export BACKOFFICE_INSTANCE=$instance
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    export DATABASE_URL=$TEST_DATABASE_URL
else
    unset DATABASE_URL
fi
.venv/bin/flask --app wsgi db upgrade > /dev/null
.venv/bin/flask --app wsgi db check
