#!/usr/bin/env bash
# Installs axe-core (Deque's accessibility rules engine) from the npm
# registry into .bin/axe/ and reuses it when present. The e2e accessibility
# audit injects its axe.min.js into every page state. It is never
# committed; the version is pinned here and only here.
set -euo pipefail

AXE_VERSION="4.14.1"

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${AXE_DIR:-$root/.bin/axe}"
stamp="$dir/axe.version"

if [[ -s "$dir/axe.min.js" && -f "$stamp" && "$(cat "$stamp")" == "$AXE_VERSION" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "install-axe: npm is required" >&2; exit 1; }

echo "install-axe: installing axe-core $AXE_VERSION from the npm registry…" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf axe-core-"$AXE_VERSION".tgz)
[[ -s "$work/package/axe.min.js" ]] || { echo "install-axe: axe.min.js missing from the package" >&2; exit 1; }
mkdir -p "$dir"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$dir/"
echo "$AXE_VERSION" > "$stamp"
echo "install-axe: installed $dir/axe.min.js" >&2
