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

work=$(mktemp -d)
chmod 755 "$work"  # nginx workers started by root run as nobody
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
printf '{"status":"ok"}' > "$work/nginx/www/healthz"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $WORKERS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  $( ((ACCESS_LOG)) && echo "access_log $work/nginx/access.log;" || echo "access_log off;" )
  keepalive_requests 10000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /healthz { root $work/nginx/www; default_type application/json; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)

for url in "http://127.0.0.1:$ucedge_port/healthz" "http://127.0.0.1:$nginx_port/healthz"; do
  for _ in $(seq 100); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
  curl -fsS "$url" >/dev/null
done
[[ $(curl -fsS "http://127.0.0.1:$ucedge_port/healthz") == $(curl -fsS "http://127.0.0.1:$nginx_port/healthz") ]] \
  || { echo "the two bodies differ" >&2; exit 1; }

rps() {  # wrk's Requests/sec for one URL
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" > "$work/wrk.txt"
  if grep -q "Non-2xx\|Socket errors" "$work/wrk.txt"; then cat "$work/wrk.txt" >&2; fi
  awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}

echo "workers=$WORKERS access_log=$ACCESS_LOG wrk: threads=$WRK_THREADS connections=$CONNECTIONS duration=${DURATION}s rounds=$ROUNDS"
printf "%-6s %14s %14s %8s\n" round ucedge_rps nginx_rps ratio
sum_u=0 sum_n=0
for round in $(seq "$ROUNDS"); do
  # Alternate the order so neither server always runs second.
  if (( round % 2 )); then
    u=$(rps "http://127.0.0.1:$ucedge_port/healthz"); n=$(rps "http://127.0.0.1:$nginx_port/healthz")
  else
    n=$(rps "http://127.0.0.1:$nginx_port/healthz"); u=$(rps "http://127.0.0.1:$ucedge_port/healthz")
  fi
  printf "%-6s %14.0f %14.0f %8.2f\n" "$round" "$u" "$n" "$(echo "$u / $n" | bc -l)"
  sum_u=$(echo "$sum_u + $u" | bc -l); sum_n=$(echo "$sum_n + $n" | bc -l)
done
printf "%-6s %14.0f %14.0f %8.2f\n" mean "$(echo "$sum_u / $ROUNDS" | bc -l)" "$(echo "$sum_n / $ROUNDS" | bc -l)" \
  "$(echo "$sum_u / $sum_n" | bc -l)"
