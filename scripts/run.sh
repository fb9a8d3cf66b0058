#!/usr/bin/env bash
# make run: Mailpit, Kratos and Tandem on this machine with embedded
# SQLite, until Ctrl-C. Everything lives under data/ (git-ignored).
# make run-oauth2 (run.sh --oauth2): Ory Hydra too, with Tandem as its
# login, consent and logout pages, and a demo OAuth2 client app.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data="$root/data"
mkdir -p "$data"
oauth2=false
[[ "${1:-}" == "--oauth2" ]] && oauth2=true

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
ports=(1025 8025 4433 4434 4455 4460)
$oauth2 && ports+=(4444 4445 4470)
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run: port $port is already in use; stop whatever listens there (another make run?) and retry." >&2
    exit 1
  fi
done

kratos_dsn="sqlite://$data/kratos.sqlite?_fk=true&_journal_mode=WAL"
echo "run: migrating Kratos' database…"
DSN="$kratos_dsn" "$root/.bin/kratos" migrate sql -e --yes > "$data/kratos-migrate.log" 2>&1 \
  || { cat "$data/kratos-migrate.log"; exit 1; }
if $oauth2; then
  hydra_dsn="sqlite://$data/hydra.sqlite?_fk=true&_journal_mode=WAL"
  echo "run: migrating Hydra's database…"
  DSN="$hydra_dsn" "$root/.bin/hydra" migrate sql -e --yes > "$data/hydra-migrate.log" 2>&1 \
    || { cat "$data/hydra-migrate.log"; exit 1; }
fi

pids=()
names=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "run: stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "run: stopped."
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

# wait_ready URL NAME LOG: poll URL until it answers, or fail with LOG.
wait_ready() {
  local pid=${pids[-1]}
  for _ in $(seq 1 150); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "run: $2 exited:"; tail -20 "$3"; exit 1; }
    sleep 0.1
  done
  echo "run: $2 did not become ready:"; tail -20 "$3"; exit 1
}

# The mail catcher: kratos.yml's courier delivers over SMTP to :1025; the
# inbox is on :8025.
"$root/.bin/mailpit" --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 --database "$data/mailpit.db" \
  --disable-version-check > "$data/mailpit.log" 2>&1 &
pids+=($!); names+=(Mailpit)
wait_ready http://127.0.0.1:8025/readyz Mailpit "$data/mailpit.log"

if $oauth2; then
  DSN="$hydra_dsn" "$root/.bin/hydra" serve all -c "$root/hydra.yml" --dev --sqa-opt-out > "$data/hydra.log" 2>&1 &
  pids+=($!); names+=(Hydra)
  wait_ready http://127.0.0.1:4445/health/ready Hydra "$data/hydra.log"
  # The demo app: a public client (PKCE, no secret), registered afresh.
  curl -fsS -X DELETE http://127.0.0.1:4445/admin/clients/tandem-demo >/dev/null 2>&1 || true
  curl -fsS -X POST http://127.0.0.1:4445/admin/clients -H 'Content-Type: application/json' -d '{
      "client_id": "tandem-demo", "client_name": "Tandem demo app",
      "redirect_uris": ["http://localhost:4470/callback"],
      "post_logout_redirect_uris": ["http://localhost:4470/signed-out"],
      "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
      "scope": "openid email profile offline_access", "token_endpoint_auth_method": "none"}' > /dev/null
  echo "run: Hydra is up (logs: data/hydra.log; admin API http://127.0.0.1:4445)"
  export TANDEM_HYDRA_ADMIN_URL=http://127.0.0.1:4445 TANDEM_HYDRA_PUBLIC_URL=http://localhost:4444
fi

DSN="$kratos_dsn" "$root/.bin/kratos" serve -c "$root/kratos.yml" --dev --watch-courier --sqa-opt-out > "$data/kratos.log" 2>&1 &
pids+=($!); names+=(Kratos)
wait_ready http://127.0.0.1:4433/health/ready Kratos "$data/kratos.log"
echo "run: Kratos is up (logs: data/kratos.log)"
echo "run: e-mails (recovery and verification codes) arrive in the inbox at http://127.0.0.1:8025"
echo "run: adoption dashboard at http://127.0.0.1:4460/dashboard, metrics at http://127.0.0.1:4460/metrics (admin key: TANDEM_HOOKS_ADMIN_KEY in data/dev.env)"

"$root/.bin/tandem" serve --dev --store-dsn "sqlite://$data/tandem.db" &
pids+=($!); names+=(Tandem)

if $oauth2; then
  "$root/.bin/oauth2demo" --listen 127.0.0.1:4470 --public-url http://localhost:4470 --issuer http://localhost:4444/ > "$data/oauth2demo.log" 2>&1 &
  pids+=($!); names+=("the demo app")
  wait_ready http://127.0.0.1:4455/health/ready Tandem /dev/null
  echo
  echo "run: sign in to the demo app through Hydra and Tandem: http://localhost:4470/"
  echo
fi

set +e
wait -n "${pids[@]}"
status=$?
[[ $status -eq 0 ]] && exit 0 # a clean stop (Ctrl-C reaches every process)
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "run: ${names[$i]} exited (status $status)." >&2
    [[ ${names[$i]} == Kratos ]] && tail -20 "$data/kratos.log" >&2
    [[ ${names[$i]} == Hydra ]] && tail -20 "$data/hydra.log" >&2
    [[ ${names[$i]} == Mailpit ]] && tail -20 "$data/mailpit.log" >&2
  fi
done
exit "$status"
