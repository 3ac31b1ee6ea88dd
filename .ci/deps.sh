#!/bin/bash
# Install the Debian packages allclear, its demo and its tests need, when
# they are missing. Through sudo when not root. Safe to run again: with
# everything present it touches nothing.
set -euo pipefail

build=(gcc meson ninja-build pkg-config libcurl4-openssl-dev libpq-dev libhiredis-dev libssl-dev zlib1g-dev
	libcjson-dev check libmicrohttpd-dev)
# The test command also builds with clang (and libFuzzer) and checks the format.
tools=(clang libclang-rt-14-dev clang-format openssl iproute2 util-linux python3-jsonschema python3-yaml chromium)
servers=(postgresql redis-server nginx-light curl python3)
# Real job libraries and peers the tests drive.
jobs=(python3-rq python3-celery ruby-sidekiq prometheus)

want=("${build[@]}" "${servers[@]}")
if [ "${AC_DEPS_ALL:-1}" = 1 ]; then
	want+=("${tools[@]}" "${jobs[@]}")
	# Node.js may come from elsewhere than Debian (this image ships node 20
	# and npm 11, which conflict with Debian's npm): only ask when absent.
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		want+=(nodejs npm)
	fi
fi

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services are not used: the demo and the tests start their own
# on loopback. Stop any the install started so their ports stay free.
for svc in redis-server nginx postgresql prometheus; do
	$SUDO systemctl stop "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
