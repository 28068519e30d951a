#!/bin/sh
# Entrypoint of the stockfeatures image. With STOCKFEATURES_MIGRATE_ON_START=1 (the feature
# server in docker-compose.yml) it brings the offline schema and the Feast registry up to the
# image's definitions before starting the command: both steps are idempotent, and migrate
# holds an advisory lock, so a restart or a second replica does no harm.
set -eu

if [ "${STOCKFEATURES_MIGRATE_ON_START:-0}" = "1" ]; then
    echo "entrypoint: applying SQL migrations"
    stockfeatures --profile prod migrate
    echo "entrypoint: applying Feast definitions"
    stockfeatures --profile prod apply
fi

exec "$@"
