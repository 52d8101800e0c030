#!/usr/bin/env bash
# Installs what building and testing Brasa needs on a Debian/Ubuntu machine:
# the Debian packages in scripts/apt-packages.txt (only those missing) and
# the Python packages in scripts/pip-requirements.txt. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(sed -e 's/#.*//' scripts/apt-packages.txt | tr -s ' \n' '\n' | grep -v '^$')
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -s scripts/pip-requirements.txt ] && grep -qv '^\s*#' scripts/pip-requirements.txt; then
  python3 -m pip install -q --disable-pip-version-check -r scripts/pip-requirements.txt
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from rustup first" >&2; exit 1; }
