#!/usr/bin/env bash
# bench/prov_vs_nginx.sh: a phone's per-device profile, rendered by ucedge
# from a template (macros expanded for the device the User-Agent names, then
# gzipped, as [prov.models] asks), against nginx serving the very same bytes
# as a static file, in one run on this machine.
#
# Both get WORKERS threads/processes and no access log; wrk sends the phone's
# User-Agent to both with the same threads, connections and duration.
# Prints requests/s for each and the ratio ucedge / nginx.
#
#   bench/prov_vs_nginx.sh
#   WORKERS=2 WRK_THREADS=2 CONNECTIONS=100 DURATION=15 ROUNDS=3 bench/prov_vs_nginx.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ucedge=${UCEDGE_BIN:-$root/build/dev/cmd/ucedge/ucedge}
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
MAC=000e08abcdef
UA="Cisco-CP-7841-3PCC/11.0 ($MAC)"
PROFILE=/prov/$MAC.xml

for tool in wrk nginx curl gunzip; do
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

# ucedge: the sample device and its $MA.xml template, gzipped for its model.
ucedge_port=$(free_port)
cat > "$work/ucedge.toml" <<TOML
[server]
data_dir = "$work/ucedge-var"
threads = $WORKERS
[log]
level = "warn"
file = "$work/ucedge.log"
[http]
listen = "127.0.0.1:$ucedge_port"
listen_tls = ""
listen_client_cert = ""
access_log = false
[prov.tftp]
listen = ""
[prov.syslog]
listen = ""
[prov.sip]
listen = ""
[prov.models."CP-7841-3PCC"]
gzip = true
TOML
"$ucedge" serve --config "$work/ucedge.toml" >"$work/ucedge.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS -o /dev/null -A "$UA" "http://127.0.0.1:$ucedge_port$PROFILE" 2>/dev/null && break; sleep 0.1; done

# nginx: the bytes ucedge rendered, as a static file at the same path.
nginx_port=$(free_port)
mkdir -p "$work/nginx/www/prov" "$work/nginx/tmp"
curl -fsS -A "$UA" -o "$work/nginx/www$PROFILE" "http://127.0.0.1:$ucedge_port$PROFILE"
gunzip -c "$work/nginx/www$PROFILE" | grep -q "<GPP_A ua=\"na\">12345678</GPP_A>" \
  || { echo "ucedge did not render the sample profile" >&2; exit 1; }
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $WORKERS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000;
  etag on;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    location /prov/ { root $work/nginx/www; default_type application/octet-stream; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port$PROFILE" 2>/dev/null && break; sleep 0.1; done
cmp <(curl -fsS -A "$UA" "http://127.0.0.1:$ucedge_port$PROFILE") <(curl -fsS -A "$UA" "http://127.0.0.1:$nginx_port$PROFILE") \
  || { echo "the two bodies differ" >&2; exit 1; }

rps() {  # wrk's Requests/sec for one URL
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "User-Agent: $UA" "$1" > "$work/wrk.txt"
  if grep -q "Non-2xx\|Socket errors" "$work/wrk.txt"; then cat "$work/wrk.txt" >&2; fi
  awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}

echo "profile: $(stat -c %s "$work/nginx/www$PROFILE") bytes gzipped; workers=$WORKERS wrk: threads=$WRK_THREADS connections=$CONNECTIONS duration=${DURATION}s rounds=$ROUNDS"
printf "%-6s %14s %14s %8s\n" round ucedge_rps nginx_rps ratio
sum_u=0 sum_n=0
for round in $(seq "$ROUNDS"); do
  # Alternate the order so neither server always runs second.
  if (( round % 2 )); then
    u=$(rps "http://127.0.0.1:$ucedge_port$PROFILE"); n=$(rps "http://127.0.0.1:$nginx_port$PROFILE")
  else
    n=$(rps "http://127.0.0.1:$nginx_port$PROFILE"); u=$(rps "http://127.0.0.1:$ucedge_port$PROFILE")
  fi
  printf "%-6s %14.0f %14.0f %8.2f\n" "$round" "$u" "$n" "$(echo "$u / $n" | bc -l)"
  sum_u=$(echo "$sum_u + $u" | bc -l); sum_n=$(echo "$sum_n + $n" | bc -l)
done
printf "%-6s %14.0f %14.0f %8.2f\n" mean "$(echo "$sum_u / $ROUNDS" | bc -l)" "$(echo "$sum_n / $ROUNDS" | bc -l)" \
  "$(echo "$sum_u / $sum_n" | bc -l)"
