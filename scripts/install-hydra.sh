#!/usr/bin/env bash
# Builds Ory Hydra from the Go module proxy into .bin/ and reuses it when
# present. Like Kratos, `go install` refuses Hydra: its go.mod replaces
# gobuffalo/pop with ory/pop, and a dependency's replace directives are
# ignored. So we build from a writable copy of the module source. The module
# zip lacks the nested internal/httpclient module its go.mod points
# hydra-client-go/v2 at; dropping that replace uses the published SDK
# instead. -tags sqlite needs cgo (gcc). The version is pinned here and only
# here.
set -euo pipefail

HYDRA_VERSION="v2.3.0"

root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir="${HYDRA_BIN_DIR:-$root/.bin}"
bin="$bin_dir/hydra"
stamp="$bin_dir/hydra.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$HYDRA_VERSION" ]]; then
  exit 0
fi

command -v go >/dev/null || { echo "install-hydra: go is required" >&2; exit 1; }
command -v gcc >/dev/null || { echo "install-hydra: gcc is required (Hydra's SQLite driver uses cgo)" >&2; exit 1; }

echo "install-hydra: building Hydra $HYDRA_VERSION (about 1–3 minutes on 2 cores)…" >&2
src=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "github.com/ory/hydra/v2@$HYDRA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d "$src" ]] || { echo "install-hydra: could not download github.com/ory/hydra/v2@$HYDRA_VERSION" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src"/. "$work"
chmod -R u+w "$work" # the module cache is read-only
mkdir -p "$bin_dir"
(
  cd "$work"
  go mod edit -dropreplace github.com/ory/hydra-client-go/v2
  CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -tags sqlite -o "$bin.tmp.$$" .
)
mv "$bin.tmp.$$" "$bin"
echo "$HYDRA_VERSION" > "$stamp"
echo "install-hydra: installed $bin" >&2
