#!/usr/bin/env bash
# Runs the PostgreSQL tests on a throwaway cluster: see .ci/postgres.sh,
# which this is.
exec "$(dirname "$0")/../.ci/postgres.sh" "$@"
