#!/bin/sh
# Start the Prefect server on its own database. The database lives in the stack's PostgreSQL
# server; it is created here on first start (not by an initdb script) so that it also appears
# when the PostgreSQL volume already existed before Prefect was added.
set -eu

python - <<'PY'
import os
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

url = urlparse(os.environ["PREFECT_API_DATABASE_CONNECTION_URL"])
database = url.path.lstrip("/")
admin = urlunparse(url._replace(scheme="postgresql", path="/postgres"))
with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        print(f"prefect-server: created database {database}")
PY

mkdir -p "${PREFECT_SERVER_UI_STATIC_DIRECTORY:-/tmp/prefect-ui}"
exec prefect server start --host "${PREFECT_SERVER_API_HOST:-0.0.0.0}" --port "${PREFECT_SERVER_API_PORT:-4200}"
