#!/usr/bin/env bash
# bench/http_hello.sh: /healthz throughput of ucedge against nginx serving a
# static file with the same body, in one run on this machine.
#
# Both servers get the same number of worker threads/processes (WORKERS) and
# no access log (ACCESS_LOG=1: both write one to a file); wrk uses the same
# threads, connections and duration for both.
# Prints requests/s for each and the ratio ucedge / nginx.
#
#   bench/http_hello.sh                    # defaults below
#   WORKERS=2 CONNECTIONS=100 DURATION=15 ROUNDS=3 bench/http_hello.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ucedge=${UCEDGE_BIN:-$root/build/dev/cmd/ucedge/ucedge}
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
ACCESS_LOG=${ACCESS_LOG:-0}

for tool in wrk nginx curl; do
  command -v $tool >/dev/null || { echo "missing $tool: run scripts/install-deps" >&2; exit 1; }
done
[[ -x $ucedge ]] || { echo "missing $ucedge: run make build" >&2; exit 1; }

. "$root/bench/lib.sh"
bench_workdir

# ucedge: plain HTTP only, no access log.
ucedge_port=$(free_port)
cat > "$work/ucedge.toml" <<TOML
[server]
data_dir = "$work/ucedge-var"
threads = $WORKERS
[log]
level = "info"
file = "$work/ucedge.log"
[http]
listen = "127.0.0.1:$ucedge_port"
listen_tls = ""
listen_client_cert = ""
access_log = $( ((ACCESS_LOG)) && echo true || echo false )
TOML
"$ucedge" serve --config "$work/ucedge.toml" >"$work/ucedge.out" 2>&1 &
pids+=($!)

# nginx: the body /healthz answers, as a static file.
nginx_port=$(free_port)
start_nginx "$nginx_port" "$WORKERS" "$ACCESS_LOG" \
  "location = /healthz { root $work/nginx/www; default_type application/json; }"
printf '{"status":"ok"}' > "$work/nginx/www/healthz"

for url in "http://127.0.0.1:$ucedge_port/healthz" "http://127.0.0.1:$nginx_port/healthz"; do
  wait_for_url "$url"
done
[[ $(curl -fsS "http://127.0.0.1:$ucedge_port/healthz") == $(curl -fsS "http://127.0.0.1:$nginx_port/healthz") ]] \
  || { echo "the two bodies differ" >&2; exit 1; }

echo "workers=$WORKERS access_log=$ACCESS_LOG wrk: threads=$WRK_THREADS connections=$CONNECTIONS duration=${DURATION}s rounds=$ROUNDS"
http_rounds "http://127.0.0.1:$ucedge_port/healthz" "http://127.0.0.1:$nginx_port/healthz" --latency
