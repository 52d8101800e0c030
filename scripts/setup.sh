#!/usr/bin/env bash
# Installs what building and testing Brasa needs on a Debian/Ubuntu machine:
# the Debian packages in scripts/apt-packages.txt (only those missing) and
# the Python packages in scripts/pip-requirements.txt. Safe to run repeatedly.
# With --bench, also what the side-by-side benchmarks in benches/ run
# (scripts/apt-bench-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

lists=(scripts/apt-packages.txt)
[ "${1:-}" = "--bench" ] && lists+=(scripts/apt-bench-packages.txt)
packages=$(sed -e 's/#.*//' "${lists[@]}" | tr -s ' \n' '\n' | grep -v '^$')
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if grep -qv '^\s*\(#\|$\)' scripts/pip-requirements.txt; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    $sudo_cmd apt-get install -y -q python3-pip
  fi
  pip_install() { python3 -m pip install -q --disable-pip-version-check "$@" -r scripts/pip-requirements.txt; }
  # Debian's own Python refuses system-wide installs (PEP 668) unless told.
  pip_install 2>/dev/null || pip_install --break-system-packages
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from rustup first" >&2; exit 1; }

# scripts/fuzz.sh runs the fuzz targets of fuzz/ through cargo-fuzz.
if ! command -v cargo-fuzz >/dev/null; then
  echo "setup: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

# Garage, the S3-compatible object store that the shared-bucket tests run
# as a real cluster (scripts/garage-cluster.sh). Built from source: it takes
# about 14 minutes on 2 cores, so only a fresh machine pays it; the binary
# stays in ~/.cargo/bin.
if ! command -v garage >/dev/null && [ ! -x "$HOME/.cargo/bin/garage" ]; then
  echo "setup: installing garage 2.5.0 (a build of about 14 minutes)"
  cargo install garage --version 2.5.0 --locked --quiet --no-default-features --features bundled-libs,lmdb
fi
