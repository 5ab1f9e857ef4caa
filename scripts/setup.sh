#!/usr/bin/env bash
# scripts/setup.sh — install what servesim needs on Debian 12 (as root) and build it.
#
#   bash scripts/setup.sh            install packages, configure, build ./servesim
#   bash scripts/setup.sh --check    ... and run the test suite (make check)
#   bash scripts/setup.sh --sanitize ... configure with --enable-asan --enable-ubsan
#
# Packages are installed only when missing, so a second run needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

check=no
configure_args=()
for arg in "$@"; do
  case "$arg" in
    --check) check=yes ;;
    --sanitize) configure_args+=(--enable-asan --enable-ubsan) ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

packages=(build-essential autoconf automake pkg-config
          libglib2.0-dev libjansson-dev libcunit1-dev
          gnuplot-nox graphviz openmpi-bin libopenmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ] || [ ${#configure_args[@]} -gt 0 ]; then
  ./configure -q "${configure_args[@]}"
fi
make -j"$(nproc)"
if [ "$check" = yes ]; then
  if ! make -j"$(nproc)" check; then
    cat test-suite.log >&2 || true
    exit 1
  fi
fi
