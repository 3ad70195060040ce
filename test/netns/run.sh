#!/usr/bin/env bash
# npm run test:netns — warren nodes on separate hosts (network namespaces, one address each,
# a bridge between them) and a node behind a masquerading NAT router; docs/deploy.md.
# Needs root (ip netns, ip6tables). Installs iproute2 and iptables from apt when missing.
# Bounded by a timeout; the tests delete every namespace they made (after() hooks), and this
# script deletes any namespace a killed run left behind (names start with "wr<pid>").
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "test:netns needs root (network namespaces, ip6tables)" >&2; exit 1; fi
if ! command -v ip >/dev/null || ! command -v ip6tables >/dev/null; then
  echo "installing iproute2 and iptables (apt)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 iptables >/dev/null
fi
export PATH="$PWD/node_modules/.bin:$PATH"
[ -f dist/test/netns/lab.js ] || npm run build >/dev/null
before=$(ip netns list | awk '{print $1}' | sort)
cleanup() {
  # Namespaces of this run that a killed test process could not delete itself.
  for ns in $(comm -13 <(echo "$before") <(ip netns list | awk '{print $1}' | sort) | grep '^wr' || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
timeout --kill-after=10 300 node --test --test-concurrency=1 --test-reporter=spec "dist/test/netns/*.netns.js"
