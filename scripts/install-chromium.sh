#!/usr/bin/env bash
# Makes sure Debian's Chromium is there for the browser tests. Installs it
# with apt when running as root; otherwise says what to run.
set -euo pipefail
for p in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  [[ -n "$p" && -x "$p" ]] && exit 0
done
if [[ $(id -u) -ne 0 ]]; then
  echo "install-chromium: Chromium is missing; run: sudo apt-get install chromium" >&2
  exit 1
fi
echo "install-chromium: installing Debian's chromium…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
