#!/usr/bin/env bash
# Builds Ory Kratos from the Go module proxy into .bin/ and reuses it when
# present. `go install` refuses Kratos because its go.mod has replace
# directives, so we copy the module source and build it there. -tags sqlite
# needs cgo (gcc). The version is pinned here and only here.
set -euo pipefail

KRATOS_VERSION="v1.3.1"

root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir="${KRATOS_BIN_DIR:-$root/.bin}"
bin="$bin_dir/kratos"
stamp="$bin_dir/kratos.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$KRATOS_VERSION" ]]; then
  exit 0
fi

command -v go >/dev/null || { echo "install-kratos: go is required" >&2; exit 1; }
command -v gcc >/dev/null || { echo "install-kratos: gcc is required (Kratos' SQLite driver uses cgo)" >&2; exit 1; }

echo "install-kratos: building Kratos $KRATOS_VERSION (about 2 minutes on 2 cores)…" >&2
src=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "github.com/ory/kratos@$KRATOS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d "$src" ]] || { echo "install-kratos: could not download github.com/ory/kratos@$KRATOS_VERSION" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src"/. "$work"
chmod -R u+w "$work" # the module cache is read-only
mkdir -p "$bin_dir"
(cd "$work" && CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags sqlite -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$KRATOS_VERSION" > "$stamp"
echo "install-kratos: installed $bin" >&2
