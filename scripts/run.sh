#!/usr/bin/env bash
# make run: Kratos and Tandem on this machine with embedded SQLite, until
# Ctrl-C. Everything lives under data/ (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data="$root/data"
mkdir -p "$data"

# Secrets that survive restarts, generated once per checkout.
if [[ ! -f "$data/dev.env" ]]; then
  gen() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }
  {
    echo "TANDEM_UI_COOKIE_SECRET=$(gen)"
    echo "TANDEM_HOOKS_ADMIN_KEY=$(gen)"
  } > "$data/dev.env"
  chmod 600 "$data/dev.env"
fi
set -a; . "$data/dev.env"; set +a
# The hook key must be the one kratos.yml sends (a development value: change
# both together for anything but local use).
export TANDEM_HOOKS_API_KEY=tandem-local-dev-hook-key-change-me

# Fail early and clearly if something already listens on our ports.
for port in 4433 4434 4455; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run: port $port is already in use; stop whatever listens there (another make run?) and retry." >&2
    exit 1
  fi
done

export DSN="sqlite://$data/kratos.sqlite?_fk=true&_journal_mode=WAL"
echo "run: migrating Kratos' database…"
"$root/.bin/kratos" migrate sql -e --yes > "$data/kratos-migrate.log" 2>&1 \
  || { cat "$data/kratos-migrate.log"; exit 1; }

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "run: stopped."
}
trap stop INT TERM EXIT

"$root/.bin/kratos" serve -c "$root/kratos.yml" --dev --watch-courier --sqa-opt-out > "$data/kratos.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:4433/health/ready >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "run: Kratos exited:"; tail -20 "$data/kratos.log"; exit 1; }
  sleep 0.1
done
echo "run: Kratos is up (logs: data/kratos.log; e-mails: curl http://127.0.0.1:4434/admin/courier/messages)"

"$root/.bin/tandem" serve --dev --store-dsn "sqlite://$data/tandem.db" &
pids+=($!)
set +e
wait -n "${pids[@]}"
status=$?
[[ $status -eq 0 ]] && exit 0 # a clean stop (Ctrl-C reaches both processes)
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    name=$([[ $i -eq 0 ]] && echo Kratos || echo Tandem)
    echo "run: $name exited (status $status)." >&2
    [[ $i -eq 0 ]] && tail -20 "$data/kratos.log" >&2
  fi
done
exit "$status"
