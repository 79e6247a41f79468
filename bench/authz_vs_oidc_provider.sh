#!/usr/bin/env bash
# bench/authz_vs_oidc_provider.sh: ucedge's OAuth 2.0 authorization server
# against node-oidc-provider, in one run on this machine, with the same wrk
# threads, connections and duration (issue "authz", section "Bar"):
#
#   client_credentials  POST /oauth2/token (ucedge) and POST /token
#                       (oidc-provider), grant_type=client_credentials, HTTP
#                       Basic client authentication. Both sign one RS256 JWS
#                       per token (ucedge's also carries a JWE, alg dir).
#   introspection       POST /oauth2/introspect and POST /token/introspection,
#                       Basic client authentication, a valid access token
#                       (every answer must say "active": true).
#   refresh             ucedge alone, grant_type=refresh_token, against the
#                       physical limit: `openssl speed -multi CORES rsa2048`
#                       signatures/s (measured before the servers start and
#                       again right before each refresh round, while the
#                       servers idle; the mean of all of them, as this VM's
#                       speed drifts by several percent from one minute to
#                       the next) divided by the RS256 signatures one
#                       refresh makes (2 with rotation, the default: the new
#                       access token and the new refresh token; 1 with
#                       ROTATE=0). Every request presents a refresh token never
#                       presented before: before each run, CONNECTIONS + spares
#                       sign-ins (the code flow through the login form, outside
#                       the timed window) start as many token families, and each
#                       connection then walks one family's rotation chain
#                       (bench/authz/refresh.lua).
#
# node-oidc-provider (the version pinned in bench/authz/package-lock.json) is
# installed with `npm ci` into .cache/bench/oidc-provider on first use and runs
# bench/authz/oidc_provider_server.mjs: one worker per WORKERS under
# node:cluster sharing one RSA key and one client, the in-memory adapter, RS256
# JWT access tokens for client_credentials. It cannot introspect its JWT access
# tokens, so its introspection run asks about an opaque client_credentials
# token every worker holds (see the top of that file). ucedge gets WORKERS
# threads and introspects its own client_credentials access token. No access
# log on either. Each server gets one WARMUP-second run of each test
# before the first round (discarded, it lets V8 compile the hot paths); then
# ROUNDS rounds, the order alternating so neither server always runs second.
# Every answer is checked by wrk's response hook: a run with answers other than
# the expected 200 counts as failed (a benchmark of error answers is worthless).
#
# Prints each run (req/s, p50/p99 latency, server CPU and wrk's CPU, 100 = one
# core: wrk shares the machine's cores with the server), then the summary (mean
# req/s, median p50/p99 over the rounds), the ratios and the goals. Exits
# non-zero when something failed (wrong answers, a server that could not be
# set up), not when a goal is missed. When ucedge cannot be measured (no
# `authz` command, no answer at POST /oauth2/token, ...), its side fails with
# the reason and oidc-provider's numbers are still printed.
#
#   bench/authz_vs_oidc_provider.sh
#   ROUNDS=1 DURATION=5 bench/authz_vs_oidc_provider.sh
#   ONLY=oidc-provider bench/authz_vs_oidc_provider.sh      # or ONLY=ucedge
#   TESTS="client_credentials introspection" bench/authz_vs_oidc_provider.sh
#   ROTATE=0 bench/authz_vs_oidc_provider.sh               # refresh without rotation (1 signature)
#   STORE_DIR=/dev/shm bench/authz_vs_oidc_provider.sh     # ucedge's SQLite store on tmpfs: no fsync cost
#   KEEP=/tmp/authz-bench bench/authz_vs_oidc_provider.sh  # keep logs and wrk outputs there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ucedge=${UCEDGE_BIN:-$root/build/dev/cmd/ucedge/ucedge}
cache=${OIDC_PROVIDER_DIR:-$root/.cache/bench/oidc-provider}
WORKERS=${WORKERS:-$(nproc)}
WRK_THREADS=${WRK_THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-"client_credentials introspection refresh"}
ONLY=${ONLY:-}
ROTATE=${ROTATE:-1}
SPEED_CORES=${SPEED_CORES:-$(nproc)}
SPEED_SECONDS=${SPEED_SECONDS:-5}
MINT_PARALLEL=${MINT_PARALLEL:-4}
SCOPE=${SCOPE:-}  # scope asked for in the code flow that mints refresh tokens; "" = none
STORE_DIR=${STORE_DIR:-}  # where ucedge's data directory (its SQLite store) goes; "" = the work directory
REDIRECT_URI=http://127.0.0.1/cb
BENCH_USER=bench-user
BENCH_PASSWORD='bench-Passw0rd-1'
here=$root/bench/authz

for tool in wrk curl openssl; do
  command -v $tool >/dev/null || { echo "missing $tool: run scripts/install-deps" >&2; exit 1; }
done
for tool in node npm; do
  command -v $tool >/dev/null || { echo "missing $tool: Node.js 18 or later with npm (apt-get install nodejs npm)" >&2; exit 1; }
done
[[ -x /usr/bin/python3 ]] || { echo "missing /usr/bin/python3" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
  || { echo "node $(node --version) is too old for oidc-provider 8 (needs 18 or later)" >&2; exit 1; }
(( CONNECTIONS >= WRK_THREADS )) || { echo "CONNECTIONS must be at least WRK_THREADS" >&2; exit 1; }
servers=()
[[ $ONLY == ucedge ]] || servers+=(oidc-provider)
[[ $ONLY == oidc-provider ]] || servers+=(ucedge)
has_test() { [[ " $TESTS " == *" $1 "* ]]; }

. "$root/bench/lib.sh"
bench_workdir
data_dir=$work/ucedge-var
if [[ -n $STORE_DIR ]]; then
  data_dir=$(mktemp -d "$STORE_DIR/ucedge-authz-bench.XXXXXX")
  trap 'bench_cleanup; rm -rf "$data_dir"' EXIT
fi
results=$work/results.txt
: > "$results"
hz=$(getconf CLK_TCK)
py() { /usr/bin/python3 "$@"; }

basic_auth() {  # basic_auth ID SECRET: the Authorization value (RFC 6749 §2.3.1: form-encoded first)
  py -c 'import base64, sys, urllib.parse as u
print("Basic " + base64.b64encode((u.quote_plus(sys.argv[1]) + ":" + u.quote_plus(sys.argv[2])).encode()).decode())' "$1" "$2"
}

json_field() {  # json_field FILE KEY: a top-level string/number of a JSON object, "" if absent
  py -c 'import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception:
    v = ""
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}

post_form() {  # post_form OUT URL AUTHORIZATION FORM_DATA: prints the status
  curl -sS -o "$1" -w '%{http_code}' -H "Authorization: $3" -H 'Accept: application/json' \
    --data-raw "$4" "$2" || echo 000
}

tree_ticks() {  # tree_ticks PID: utime+stime of PID and its children (node's cluster workers)
  local sum=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [[ -r /proc/$p/stat ]] || continue
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$sum"
}

server_down() {  # server_down NAME PID: the server died; show its log
  echo "$1 (pid $2) is not running any more; its log:" >&2
  tail -20 "$work/$1.log" >&2 2>/dev/null || true
  exit 1
}

# --- node-oidc-provider -------------------------------------------------------------------------

install_oidc_provider() {
  mkdir -p "$cache"
  if ! cmp -s "$here/package-lock.json" "$cache/package-lock.json" || ! cmp -s "$here/package.json" \
      "$cache/package.json" || [[ ! -f $cache/node_modules/oidc-provider/package.json ]]; then
    echo "installing oidc-provider into $cache (npm ci)" >&2
    cp "$here/package.json" "$here/package-lock.json" "$cache/"
    (cd "$cache" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 \
      || { cat "$work/npm.log" >&2; rm -f "$cache/package-lock.json"; exit 1; }
  fi
  # Next to its node_modules, so its import of oidc-provider resolves there.
  cp "$here/oidc_provider_server.mjs" "$cache/"
}

start_oidc_provider() {
  node_port=$(free_port)
  node_client=bench-client
  node_secret=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')  # 256 bits, like ucedge's secrets
  (cd "$cache" && exec node oidc_provider_server.mjs "$node_port" "$node_client" "$node_secret" "$WORKERS" \
    "$work/oidc-provider.token") >"$work/oidc-provider.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  for _ in $(seq 150); do [[ -s $work/oidc-provider.token ]] && break; sleep 0.1; done
  [[ -s $work/oidc-provider.token ]] || { echo "oidc-provider did not start:" >&2; cat "$work/oidc-provider.log" >&2; exit 1; }
  wait_for_url "http://127.0.0.1:$node_port/.well-known/openid-configuration"
  node_auth=$(basic_auth "$node_client" "$node_secret")
  node_introspect_token=$(cat "$work/oidc-provider.token")

  local status
  status=$(post_form "$work/probe.json" "http://127.0.0.1:$node_port/token" "$node_auth" grant_type=client_credentials)
  [[ $status == 200 && -n $(json_field "$work/probe.json" access_token) ]] \
    || { echo "oidc-provider: POST /token answered $status: $(head -c 300 "$work/probe.json")" >&2; exit 1; }
  # RS256 JWT, as configured.
  py -c 'import base64, json, sys
t = sys.argv[1].split(".")
h = json.loads(base64.urlsafe_b64decode(t[0] + "=" * (-len(t[0]) % 4)))
sys.exit(0 if len(t) == 3 and h.get("alg") == "RS256" else 1)' "$(json_field "$work/probe.json" access_token)" \
    || { echo "oidc-provider: the access token is not an RS256 JWT" >&2; exit 1; }
  # Every worker must know the introspection token: new connections land on the workers in turn.
  for _ in $(seq $((2 * WORKERS))); do
    status=$(post_form "$work/probe.json" "http://127.0.0.1:$node_port/token/introspection" "$node_auth" \
      "token=$node_introspect_token")
    [[ $status == 200 && $(json_field "$work/probe.json" active) == true ]] \
      || { echo "oidc-provider: introspection answered $status: $(head -c 300 "$work/probe.json")" >&2; exit 1; }
  done
}

# --- ucedge ---------------------------------------------------------------------------------------

ucedge_fail() {  # ucedge_fail WHAT: ucedge cannot be measured (the summary says why; the exit status is 1)
  echo "ucedge: $1" >&2
  echo "fail ucedge: $1" >> "$results"
  ucedge_ready=0
}

ucedge_cli() {  # ucedge_cli OUT ARGS...: one `ucedge --config ... ARGS`, output to OUT
  local out=$1
  shift
  "$ucedge" --config "$work/ucedge.toml" "$@" >"$out" 2>&1
}

parse_client() {  # parse_client FILE: "ID SECRET" from the JSON `ucedge authz client add --json` printed
  py -c 'import json, sys
doc = json.load(open(sys.argv[1]))
if not doc.get("client_id") or not doc.get("client_secret"):
    sys.exit(1)
print(doc["client_id"], doc["client_secret"])' "$1" 2>/dev/null
}

setup_ucedge() {
  ucedge_ready=1
  if [[ ! -x $ucedge ]]; then ucedge_fail "missing $ucedge: run make build (or set UCEDGE_BIN)"; return; fi
  if ! "$ucedge" --help 2>/dev/null | grep -q '^ *authz '; then
    ucedge_fail "$ucedge has no \`authz\` command: this build predates the authorization service"
    return
  fi
  ucedge_port=$(free_port)
  cat > "$work/ucedge.toml" <<TOML
[server]
data_dir = "$data_dir"
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
[turn]
enabled = false
[authz]
sample_client = false
rotate_refresh_tokens = $( ((ROTATE)) && echo true || echo false )
TOML
  if ! ucedge_cli "$work/ucedge-client.out" authz client add bench --confidential --json \
      --grant client_credentials --grant refresh_token --grant authorization_code --redirect-uri "$REDIRECT_URI"; then
    ucedge_fail "\`ucedge authz client add\` failed: $(head -c 400 "$work/ucedge-client.out" | tr '\n' ' ')"
    return
  fi
  local pair
  if ! pair=$(parse_client "$work/ucedge-client.out"); then
    ucedge_fail "no client id and secret in the output of \`ucedge authz client add\`: $(head -c 400 "$work/ucedge-client.out")"
    return
  fi
  read -r ucedge_client ucedge_secret <<<"$pair"
  ucedge_auth=$(basic_auth "$ucedge_client" "$ucedge_secret")
  if has_test refresh && ! ucedge_cli "$work/ucedge-user.out" authz user add "$BENCH_USER" --password-stdin \
      <<<"$BENCH_PASSWORD"; then
    ucedge_fail "\`ucedge authz user add\` failed: $(head -c 400 "$work/ucedge-user.out" | tr '\n' ' ')"
    return
  fi

  "$ucedge" serve --config "$work/ucedge.toml" >"$work/ucedge.out" 2>&1 &
  ucedge_pid=$!
  pids+=("$ucedge_pid")
  if ! wait_for_url "http://127.0.0.1:$ucedge_port/healthz" 2>/dev/null; then
    ucedge_fail "ucedge serve did not answer /healthz: $(tail -5 "$work/ucedge.out" "$work/ucedge.log" 2>/dev/null | tr '\n' ' ')"
    return
  fi

  local status
  status=$(post_form "$work/probe.json" "http://127.0.0.1:$ucedge_port/oauth2/token" "$ucedge_auth" \
    grant_type=client_credentials)
  if [[ $status == 404 || $status == 405 ]]; then
    ucedge_fail "POST /oauth2/token answered $status: this build has no OAuth token endpoint yet"
    return
  fi
  ucedge_access_token=$(json_field "$work/probe.json" access_token)
  if [[ $status != 200 || -z $ucedge_access_token ]]; then
    ucedge_fail "POST /oauth2/token (client_credentials) answered $status: $(head -c 300 "$work/probe.json")"
    return
  fi
  if has_test introspection; then
    status=$(post_form "$work/probe.json" "http://127.0.0.1:$ucedge_port/oauth2/introspect" "$ucedge_auth" \
      "token=$ucedge_access_token")
    if [[ $status != 200 || $(json_field "$work/probe.json" active) != true ]]; then
      ucedge_fail "POST /oauth2/introspect answered $status: $(head -c 300 "$work/probe.json")"
      return
    fi
  fi
  if has_test refresh; then
    # One family minted and refreshed once: the grant works and, with rotation, hands out a new token.
    if ! mint_refresh_tokens 1 "$work/probe-refresh.txt"; then return; fi
    local old
    old=$(cat "$work/probe-refresh.txt")
    status=$(post_form "$work/probe.json" "http://127.0.0.1:$ucedge_port/oauth2/token" "$ucedge_auth" \
      "grant_type=refresh_token&refresh_token=$old")
    if [[ $status != 200 || -z $(json_field "$work/probe.json" access_token) ]]; then
      ucedge_fail "POST /oauth2/token (refresh_token) answered $status: $(head -c 300 "$work/probe.json")"
      return
    fi
    local new
    new=$(json_field "$work/probe.json" refresh_token)
    if (( ROTATE )) && [[ -z $new || $new == "$old" ]]; then
      ucedge_fail "a refresh with rotation on did not hand out a new refresh token: $(head -c 300 "$work/probe.json")"
      return
    fi
  fi
}

mint_refresh_tokens() {  # mint_refresh_tokens COUNT FILE: COUNT new families through the code flow
  if ! py "$here/mint_refresh_tokens.py" "http://127.0.0.1:$ucedge_port" "$ucedge_client" "$ucedge_secret" \
      "$REDIRECT_URI" "$BENCH_USER" "$BENCH_PASSWORD" "$1" "$MINT_PARALLEL" "$SCOPE" >"$2" 2>"$work/mint.err"; then
    ucedge_fail "$(tail -1 "$work/mint.err")"
    return 1
  fi
}

# --- runs -----------------------------------------------------------------------------------------

# One token per connection, plus spares for tokens lost to an error answer.
refresh_pool=$((CONNECTIONS + (CONNECTIONS / 5 > 8 ? CONNECTIONS / 5 : 8)))

prepare_test() {  # prepare_test TEST: what a run needs before its clock starts: fresh refresh tokens
  [[ $1 != refresh ]] || mint_refresh_tokens "$refresh_pool" "$work/refresh-tokens.txt"
}

# wrk_test TEST SERVER SECONDS OUT: one wrk run of TEST against SERVER (after prepare_test)
wrk_test() {
  local test=$1 server=$2 seconds=$3 out=$4 url auth args=()
  if [[ $server == ucedge ]]; then
    url="http://127.0.0.1:$ucedge_port" auth=$ucedge_auth
  else
    url="http://127.0.0.1:$node_port" auth=$node_auth
  fi
  case $test/$server in
    client_credentials/ucedge) url+=/oauth2/token ;;
    client_credentials/oidc-provider) url+=/token ;;
    introspection/ucedge) url+=/oauth2/introspect ;;
    introspection/oidc-provider) url+=/token/introspection ;;
    refresh/ucedge) url+=/oauth2/token ;;
  esac
  case $test in
    client_credentials) args=(-s "$here/form_post.lua" "$url" -- "$auth" grant_type=client_credentials '"access_token"%s*:') ;;
    introspection)
      local token=${node_introspect_token:-}
      [[ $server == ucedge ]] && token=$ucedge_access_token
      args=(-s "$here/form_post.lua" "$url" -- "$auth" "token=$token" '"active"%s*:%s*true') ;;
    refresh)
      args=(-s "$here/refresh.lua" "$url" -- "$auth" "$work/refresh-tokens.txt" "$WRK_THREADS" "$ROTATE") ;;
  esac
  # The `time` keyword writes wrk's user and system CPU seconds to OUT.cpu.
  local TIMEFORMAT='%U %S'
  { time wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency "${args[@]}" >"$out" 2>&1; } 2>"$out.cpu" \
    || { echo "wrk failed:" >&2; cat "$out" >&2; exit 1; }
}

measure_limit() {  # measure_limit: one `openssl speed` of the signing limit, recorded in the results
  openssl speed -multi "$SPEED_CORES" -seconds "$SPEED_SECONDS" rsa2048 >"$work/openssl-speed.txt" 2>/dev/null
  sign=$(awk '/^rsa 2048 bits/ {print $(NF - 1)}' "$work/openssl-speed.txt" | tail -1)
  [[ -n $sign ]] || { echo "no rsa 2048 line from openssl speed:" >&2; cat "$work/openssl-speed.txt" >&2; exit 1; }
  echo "limit sign_per_s=$sign cores=$SPEED_CORES sigs_per_refresh=$sigs" >> "$results"
}

# measure TEST SERVER ROUND: a measured run; records and prints it
measure() {
  local test=$1 server=$2 round=$3 pid out result fields t0 t1 seconds cpu_pct wrk_cpu_pct wrk_user wrk_system
  pid=$([[ $server == ucedge ]] && echo "$ucedge_pid" || echo "$node_pid")
  out="$work/wrk-$test-$server-$round.txt"
  prepare_test "$test" || return 0
  [[ $test != refresh ]] || measure_limit
  t0=$(tree_ticks "$pid")
  wrk_test "$test" "$server" "$DURATION" "$out"
  t1=$(tree_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || server_down "$server" "$pid"
  result=$(sed -n 's/^RESULT //p' "$out")
  [[ -n $result ]] || { echo "no RESULT line from wrk:" >&2; cat "$out" >&2; exit 1; }
  seconds=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$result")
  read -r wrk_user wrk_system < <(tail -1 "$out.cpu")
  read -r cpu_pct wrk_cpu_pct < <(py -c 'import sys
ticks, hz, seconds, user, system = sys.argv[1:]
print(f"{100 * int(ticks) / int(hz) / float(seconds):.0f} {100 * (float(user) + float(system)) / float(seconds):.0f}")' \
    "$((t1 - t0))" "$hz" "$seconds" "$wrk_user" "$wrk_system")
  echo "run $test $server $round cpu_pct=$cpu_pct wrk_cpu_pct=$wrk_cpu_pct $result" >> "$results"
  read -ra fields <<<"$result"
  py - "$test" "$server" "$round" "$cpu_pct" "$wrk_cpu_pct" "${fields[@]}" <<'PY'
import sys
test, server, rnd, cpu, wrk_cpu = sys.argv[1:6]
r = dict(w.split("=", 1) for w in sys.argv[6:])
bad = sum(int(r[k]) for k in ("non200", "unexpected", "socket_errors", "exhausted"))
print(f"{rnd:<6} {test:<19} {server:<14} {float(r['rps']):>10.0f} {float(r['p50_ms']):>9.2f} "
      f"{float(r['p99_ms']):>9.2f} {cpu:>6} {wrk_cpu:>6} {bad:>6}" + ("   <- FAILED" if bad else ""))
PY
  if grep -q '^SAMPLE' "$out"; then sed -n 's/^SAMPLE /       last wrong answer: /p' "$out" >&2; fi
}

# --- main -----------------------------------------------------------------------------------------

ucedge_ready=0
if [[ " ${servers[*]} " == *" oidc-provider "* ]]; then install_oidc_provider; fi

if [[ " ${servers[*]} " == *" ucedge "* ]] && has_test refresh; then
  # The physical limit first, with both servers not yet started.
  sigs=$( ((ROTATE)) && echo 2 || echo 1)
  measure_limit
fi

for server in "${servers[@]}"; do
  if [[ $server == oidc-provider ]]; then start_oidc_provider; else setup_ucedge; fi
done
measured=()
for server in "${servers[@]}"; do
  [[ $server == ucedge && $ucedge_ready != 1 ]] || measured+=("$server")
done

oidc_version=$(node -p "require('$cache/node_modules/oidc-provider/package.json').version" 2>/dev/null || echo "-")
echo "cores=$(nproc) ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)) workers=$WORKERS" \
  "wrk: threads=$WRK_THREADS connections=$CONNECTIONS duration=${DURATION}s warmup=${WARMUP}s rounds=$ROUNDS"
versions=$(openssl version | cut -d' ' -f1-2)
if [[ " ${measured[*]} " == *" oidc-provider "* ]]; then versions+=", node $(node --version), oidc-provider $oidc_version"; fi
if [[ $ucedge_ready == 1 ]]; then
  versions+=", $("$ucedge" --version 2>/dev/null | head -1)"
  has_test refresh && versions+="; refresh rotation $( ((ROTATE)) && echo on || echo off)"
fi
echo "$versions"
if [[ -f $work/openssl-speed.txt ]]; then
  echo "openssl speed -multi $SPEED_CORES -seconds $SPEED_SECONDS rsa2048: $sign sign/s (before the servers start)"
fi

runs_of() {  # runs_of SERVER: the tests SERVER takes part in
  local t
  for t in $TESTS; do
    [[ $t == refresh && $1 != ucedge ]] || echo "$t"
  done
}

if (( WARMUP > 0 )); then
  for server in "${measured[@]}"; do
    for test in $(runs_of "$server"); do
      [[ $server == ucedge && $ucedge_ready != 1 ]] && continue
      if prepare_test "$test"; then wrk_test "$test" "$server" "$WARMUP" "$work/warmup-$test-$server.txt"; fi
    done
  done
fi

printf "%-6s %-19s %-14s %10s %9s %9s %6s %6s %6s\n" round test server req/s p50_ms p99_ms cpu% wrk% bad
for round in $(seq "$ROUNDS"); do
  order=("${measured[@]}")
  if (( round % 2 == 0 && ${#measured[@]} == 2 )); then order=("${measured[1]}" "${measured[0]}"); fi
  for test in $TESTS; do
    for server in "${order[@]}"; do
      [[ $test == refresh && $server != ucedge ]] && continue
      [[ $server == ucedge && $ucedge_ready != 1 ]] && continue
      measure "$test" "$server" "$round"
    done
  done
done
echo
status=0
py "$here/report.py" "$results" || status=$?
if [[ -n ${KEEP:-} ]]; then
  cp -r "$work" "$KEEP" && echo "raw output kept in $KEEP"
fi
exit "$status"
