#!/usr/bin/env bash
# Install what sluice needs to build and test, if missing.
# Usage: scripts/deps.sh [build|test|bench|hosts]
# As root, missing Debian packages are installed with apt-get; otherwise the
# exact command to run is printed and the script fails.
set -u
what=${1:-build}
pkgs="build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev"
case "$what" in
  test)  pkgs="$pkgs libcmocka-dev python3 python3-zmq python3-msgpack valgrind time procps man-db groff-base parallel" ;;
  hosts) pkgs="$pkgs iproute2 iptables libnetfilter-queue-dev libnfnetlink-dev python3 iputils-ping procps" ;;
  bench) pkgs="$pkgs python3 python3-zmq python3-msgpack python3-redis redis-server libhiredis-dev parallel time procps" ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >&2 || {
    echo "deps: apt-get install failed for:$missing" >&2; exit 1; }
else
  echo "deps: missing packages:$missing" >&2
  echo "deps: run: sudo apt-get install -y$missing" >&2
  exit 1
fi
