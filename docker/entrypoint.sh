#!/bin/sh
# Container entry point. `start` (the default) runs the node; anything else is passed to the
# warren CLI (e.g. `docker run --rm IMAGE keygen`). In a running container: `docker exec NODE
# warren status` (the CLI is on PATH and finds the API through WARREN_API).
#
# A node given WARREN_SEED (a host name, e.g. the compose service "seed") and no
# WARREN_BOOTSTRAP asks that seed's client API for its peer ID and bootstraps from
# /dns4/$WARREN_SEED/tcp/${WARREN_SEED_PORT:-7400}/p2p/<id>, so no peer ID is ever typed in.
set -eu
cli=/app/dist/src/cli/index.js
if [ "$#" -gt 0 ] && [ "$1" != start ]; then
  exec node "$cli" "$@"
fi
[ "$#" -gt 0 ] && shift
if [ -z "${WARREN_BOOTSTRAP:-}" ] && [ -n "${WARREN_SEED:-}" ]; then
  WARREN_BOOTSTRAP=$(node /app/docker/seed-addr.mjs)
  export WARREN_BOOTSTRAP
  echo "bootstrap from $WARREN_BOOTSTRAP"
fi
# --max-semi-space-size=2: the same small young generation as `npm start` (less RSS per node).
exec node --max-semi-space-size=2 "$cli" start "$@"
