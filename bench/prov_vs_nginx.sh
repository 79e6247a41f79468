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

. "$root/bench/lib.sh"
bench_workdir

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
wait_for_url "http://127.0.0.1:$ucedge_port$PROFILE" -A "$UA"

# nginx: the bytes ucedge rendered, as a static file at the same path.
nginx_port=$(free_port)
start_nginx "$nginx_port" "$WORKERS" 0 "location /prov/ { root $work/nginx/www; default_type application/octet-stream; }"
mkdir -p "$work/nginx/www/prov"
curl -fsS -A "$UA" -o "$work/nginx/www$PROFILE" "http://127.0.0.1:$ucedge_port$PROFILE"
gunzip -c "$work/nginx/www$PROFILE" | grep -q "<GPP_A ua=\"na\">12345678</GPP_A>" \
  || { echo "ucedge did not render the sample profile" >&2; exit 1; }
wait_for_url "http://127.0.0.1:$nginx_port$PROFILE"
cmp <(curl -fsS -A "$UA" "http://127.0.0.1:$ucedge_port$PROFILE") <(curl -fsS -A "$UA" "http://127.0.0.1:$nginx_port$PROFILE") \
  || { echo "the two bodies differ" >&2; exit 1; }

echo "profile: $(stat -c %s "$work/nginx/www$PROFILE") bytes gzipped; workers=$WORKERS wrk: threads=$WRK_THREADS connections=$CONNECTIONS duration=${DURATION}s rounds=$ROUNDS"
http_rounds "http://127.0.0.1:$ucedge_port$PROFILE" "http://127.0.0.1:$nginx_port$PROFILE" -H "User-Agent: $UA"
