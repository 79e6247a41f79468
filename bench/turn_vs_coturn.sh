#!/usr/bin/env bash
# bench/turn_vs_coturn.sh: the same turnutils_uclient load against coturn
# (Debian's turnserver) and ucedge's TURN relay, one after the other in one
# run, on loopback, with the same relay settings: THREADS relay threads each,
# one UDP listener, relayed addresses on 127.0.0.1 from the same port range,
# long-term credentials, loopback peers allowed.
#
# The load steps up through LEVELS (total sessions, i.e. allocations) until
# a server loses packets. Each level runs ceil(sessions / SESSIONS_PER_CLIENT)
# turnutils_uclient processes at once (one uclient connects its sessions one
# after the other and paces them all from one 1 ms timer, about 600 messages/s
# per session at INTERVAL_MS=1; more processes connect faster and spread the
# load generation over the cores), each sending MESSAGES messages of LENGTH
# bytes per session every INTERVAL_MS ms over channels (CHANNELS=0:
# Send/Data indications) to PEERS turnutils_peer echo peers. Every message
# crosses the relay twice (to the peer and back), so relayed packets = 2 x
# messages received back. uclient starts each session 1 to 6 s after it
# connected, so the rate ramps up and down around a plateau.
#
# Each server is started fresh for each level. For each it prints:
#   relayed_pps  relayed packets/s at the plateau: the best 3 s of the sum of
#                uclient's per-second progress lines (1 s resolution, so each
#                session sends for ~10 s or more)
#   loss%        uclient's "Total lost packets"
#   srv_drops    datagrams the kernel dropped on the server's own sockets
#                (receive buffer full), the part of the loss that is the server's
#   cpu_s        server CPU seconds (utime+stime from /proc/PID/stat) for the run
#   user%        the part of cpu_s spent in the server's own code; the rest is
#                the kernel's UDP stack (on loopback a send also runs the
#                receiving socket's delivery, so each side's system time holds
#                part of the other's: the same for both servers)
#   cpu_s/Mpkt   server CPU seconds per million relayed packets
#   pkt/cpu_s    relayed packets per server CPU second: the packet rate one
#                busy core would sustain
#   rss_MB       server peak RSS (VmHWM) during the run (reset just before it)
#   load_cpu%    CPU of the uclient processes and peers over the sending window,
#                in % of one core (a note says when one of them neared a full
#                core: then the load generator, not the server, is the limit;
#                a lower SESSIONS_PER_CLIENT runs more processes)
# and then the highest lossless level of each and the ratios ucedge/coturn.
#
#   bench/turn_vs_coturn.sh                            # defaults below
#   LEVELS="100 200 400" THREADS=2 bench/turn_vs_coturn.sh
#   ONLY=coturn bench/turn_vs_coturn.sh                # one server only (ONLY=ucedge for the other)
#   CHANNELS=0 bench/turn_vs_coturn.sh                 # Send/Data indications instead of ChannelData
#   KEEP_GOING=1 bench/turn_vs_coturn.sh               # all levels, even after loss appeared
#   KEEP=/tmp/turn-bench bench/turn_vs_coturn.sh       # keep the logs and uclient outputs there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ucedge=${UCEDGE_BIN:-$root/build/dev/cmd/ucedge/ucedge}
turnserver=${TURNSERVER_BIN:-/usr/bin/turnserver}
LEVELS=${LEVELS:-"50 75 100 125 150 200 300"}
SESSIONS_PER_CLIENT=${SESSIONS_PER_CLIENT:-50}
MESSAGES=${MESSAGES:-3000}
LENGTH=${LENGTH:-160}
INTERVAL_MS=${INTERVAL_MS:-1}
CHANNELS=${CHANNELS:-1}
PEERS=${PEERS:-2}
THREADS=${THREADS:-1}
ONLY=${ONLY:-}
KEEP_GOING=${KEEP_GOING:-0}
LOSS_TOLERANCE=${LOSS_TOLERANCE:-0}  # loss% still counted as lossless
RELAY_PORTS=${RELAY_PORTS:-10000-29999}  # below the ephemeral range, so clients never take them
REALM=bench.ucedge
USER_NAME=bench
PASSWORD=bench-password-1

for tool in turnutils_uclient turnutils_peer python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install coturn (see deps/debian.txt)" >&2; exit 1; }
done
[[ $ONLY == ucedge || -x $turnserver ]] || { echo "missing $turnserver: apt-get install coturn" >&2; exit 1; }
if [[ $ONLY != coturn && ! -x $ucedge ]]; then
  echo "building ucedge in build/dev" >&2
  (cd "$root" && cmake --preset dev >/dev/null && cmake --build build/dev --target ucedge >/dev/null)
fi
if pgrep -x -r R,S,D turnserver >/dev/null; then
  echo "note: a turnserver is already running (pid $(pgrep -x -r R,S,D turnserver | tr '\n' ' ')); it shares" \
    "the CPU" >&2
fi

. "$root/bench/lib.sh"
bench_workdir
relay_low=${RELAY_PORTS%-*}
relay_high=${RELAY_PORTS#*-}
hz=$(getconf CLK_TCK)
greater() { python3 -c 'import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))' "$1" "$2"; }

cpu_ticks() {  # cpu_ticks PID...: utime+stime of each, summed
  local sum=0 p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] || continue
    # Fields after the ")" of the command name: utime and stime are the 12th and 13th.
    sum=$((sum + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$sum"
}

user_ticks() {  # user_ticks PID: utime alone
  sed 's/.*) //' "/proc/$1/stat" | awk '{print $12}'
}

socket_drops() {  # socket_drops PID: kernel drops on the UDP sockets PID holds
  local inodes
  inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p' | tr '\n' ' ')
  awk -v inodes=" $inodes " 'NR > 1 && index(inodes, " " $10 " ") {d += $NF} END {print d + 0}' \
    /proc/net/udp /proc/net/udp6
}

udp_rcvbuf_errors() {
  awk '/^Udp: / && $2 ~ /^[0-9]/ {print $6; exit}' /proc/net/snmp
}

wait_for_stun() {  # wait_for_stun NAME PORT: a STUN Binding answered within 10 s
  for _ in $(seq 100); do
    if timeout 1 turnutils_stunclient -p "$2" 127.0.0.1 2>/dev/null | grep -q "reflexive addr"; then return 0; fi
    sleep 0.1
  done
  echo "$1 does not answer STUN on 127.0.0.1:$2" >&2
  tail -20 "$work"/*.log >&2 2>/dev/null || true
  exit 1
}

server_pid=''
start_coturn() {
  port=$(free_port udp)
  # Same relay settings as ucedge's below; quotas off, no TLS/DTLS/CLI/RFC 5780 listeners.
  "$turnserver" -n --listening-ip 127.0.0.1 --listening-port "$port" --relay-ip 127.0.0.1 \
    --min-port "$relay_low" --max-port "$relay_high" --relay-threads "$THREADS" \
    --lt-cred-mech --user "$USER_NAME:$PASSWORD" --realm "$REALM" --allow-loopback-peers \
    --user-quota 0 --total-quota 0 --no-cli --no-tls --no-dtls --no-rfc5780 --no-tcp \
    --db "$work/coturn.db" --log-file "$work/coturn.log" --simple-log --pidfile "$work/coturn.pid" \
    >"$work/coturn.out" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_stun coturn "$port"
}

start_ucedge() {
  port=$(free_port udp)
  rm -rf "$work/var"
  mkdir -p "$work/var"
  cat > "$work/ucedge.toml" <<TOML
[server]
data_dir = "$work/var"
threads = $THREADS
[http]
listen = "127.0.0.1:0"
listen_tls = ""
listen_client_cert = ""
[log]
level = "info"
file = "$work/ucedge.log"
[prov.tftp]
listen = ""
[prov.syslog]
listen = ""
[prov.sip]
listen = ""
[turn]
listen_udp = "127.0.0.1:$port"
listen_tcp = ""
listen_tls = ""
threads = $THREADS
relay_address = "127.0.0.1"
relay_ports = "$RELAY_PORTS"
realm = "$REALM"
allow_peers = ["127.0.0.1/32"]
user_quota = 100000
total_quota = 100000
TOML
  "$ucedge" --config "$work/ucedge.toml" turn user add "$USER_NAME" --password "$PASSWORD" --realm "$REALM" \
    >"$work/ucedge-cli.out" 2>&1 || { cat "$work/ucedge-cli.out" >&2; exit 1; }
  "$ucedge" serve --config "$work/ucedge.toml" >"$work/ucedge.out" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_stun ucedge "$port"
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

peer_ports=() peer_pids=()
for _ in $(seq "$PEERS"); do
  p=$(free_port udp)
  turnutils_peer -L 127.0.0.1 -p "$p" >/dev/null 2>&1 &
  pids+=($!)
  peer_pids+=($!)
  peer_ports+=("$p")
done

# run_level NAME SESSIONS: one load run against the server on $port; prints one result line
# "pps loss% srv_drops cpu_s cpu_s/Mpkt pkt/cpu_s rss_MB load_cpu% busiest_load_cpu% status rcvbuf_errors".
run_level() {
  local name=$1 sessions=$2 clients i n left ucpids=() out p
  clients=$(( (sessions + SESSIONS_PER_CLIENT - 1) / SESSIONS_PER_CLIENT ))
  local flags=(-c)
  (( CHANNELS )) || flags+=(-s)
  local cpu0 user0 drops0 rcvbuf0 peer0=()
  # Peak RSS from here on: startup peaks (ucedge hashes its first administrator's password with
  # Argon2, 64 MB, on a first start) are not the relay's.
  echo 5 > "/proc/$server_pid/clear_refs" 2>/dev/null || true
  cpu0=$(cpu_ticks "$server_pid"); user0=$(user_ticks "$server_pid")
  drops0=$(socket_drops "$server_pid"); rcvbuf0=$(udp_rcvbuf_errors)
  for p in "${peer_pids[@]}"; do peer0+=("$(cpu_ticks "$p")"); done
  rm -f "$work/$name-$sessions-"*
  left=$sessions
  for i in $(seq "$clients"); do
    n=$(( left < SESSIONS_PER_CLIENT ? left : SESSIONS_PER_CLIENT ))
    left=$((left - n))
    out="$work/$name-$sessions-$i"
    # `times` in the subshell prints its children's CPU: this uclient's.
    ( turnutils_uclient "${flags[@]}" -u "$USER_NAME" -w "$PASSWORD" -e 127.0.0.1 \
        -r "${peer_ports[$(( (i - 1) % PEERS ))]}" -p "$port" -m "$n" -n "$MESSAGES" -l "$LENGTH" \
        -z "$INTERVAL_MS" 127.0.0.1 >"$out.txt" 2>&1 || true
      times >"$out.times" ) &
    ucpids+=($!)
  done
  for p in "${ucpids[@]}"; do wait "$p" || true; done
  local cpu1 user1 drops1 rcvbuf1 peer_delta=() rss j=0
  cpu1=$(cpu_ticks "$server_pid"); user1=$(user_ticks "$server_pid")
  drops1=$(socket_drops "$server_pid"); rcvbuf1=$(udp_rcvbuf_errors)
  for p in "${peer_pids[@]}"; do peer_delta+=("$(( $(cpu_ticks "$p") - peer0[j] ))"); j=$((j + 1)); done
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  python3 - "$sessions" "$MESSAGES" "$hz" "$((cpu1 - cpu0))" "$((user1 - user0))" "$((drops1 - drops0))" \
    "$((rcvbuf1 - rcvbuf0))" \
    "$rss" "$(IFS=,; echo "${peer_delta[*]}")" "$work/$name-$sessions-" "$clients" <<'PY'
import math, re, sys
sessions, messages, hz, cpu, user, drops, rcvbuf, rss, peers, prefix, clients = sys.argv[1:]
hz = int(hz)
sent = received = lost = 0
complete, load, series = True, [], []
for i in range(1, int(clients) + 1):
    text = open(f"{prefix}{i}.txt", errors="replace").read()
    times = open(f"{prefix}{i}.times").read().split("\n")[1].split()  # children: user sys, as 0m1.230s
    load.append(sum(int(m) * 60 + float(s) for m, s in (re.match(r"(\d+)m([\d.]+)s", t).groups() for t in times)))
    total = re.findall(r"^(\d+): : start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", text, re.M)
    loss = re.search(r"Total lost packets (\d+)", text)
    if not total or not loss:
        complete = False
        continue
    sent += int(total[-1][1]); received += int(total[-1][2]); lost += int(loss.group(1))
    # Progress lines "T: : start_mclient: msz=M, tot_send_msgs=S, tot_recv_msgs=R, ...", T in whole
    # seconds since that uclient started (all start together), then the totals line.
    points = [(int(t), int(r)) for t, r in
              re.findall(r"^(\d+): : start_mclient: msz=\d+, tot_send_msgs=\d+, tot_recv_msgs=(\d+)", text, re.M)]
    points.append((int(total[-1][0]), int(total[-1][2])))
    series.append(points)
# Messages received back by all uclients together at each second, and the best rate over any
# WINDOW seconds: the plateau once every session is sending (uclient starts each session 1 to 6 s
# after it connected, and sessions finish as unevenly).
WINDOW = 3
end = max((p[-1][0] for p in series), default=0)
def at(points, t):
    value = 0
    for when, r in points:
        if when > t:
            break
        value = r
    return value
aggregate = [sum(at(p, t) for p in series) for t in range(end + 1)]
window = min(WINDOW, end)
peak = max((aggregate[t + window] - aggregate[t] for t in range(end + 1 - window)), default=0) if window else 0
busy = [t for t in range(1, end + 1) if aggregate[t] > aggregate[t - 1]]
span = (busy[-1] - busy[0] + 1) if busy else 0
relayed = 2 * received
pps = 2 * peak / window if window else 0
cpu_s = int(cpu) / hz
loss_pct = 100.0 * lost / sent if sent else 100.0
per_m = cpu_s / (relayed / 1e6) if relayed else math.nan
per_cpu = relayed / cpu_s if cpu_s else math.nan
load += [int(t) / hz for t in peers.split(",") if t]
load_pct = 100.0 * sum(load) / span if span else 0
busiest = 100.0 * max(load) / span if span and load else 0
ok = complete and sent == int(sessions) * int(messages)
user_pct = 100.0 * int(user) / int(cpu) if int(cpu) else 0
print(f"{pps:.0f} {loss_pct:.3f} {drops} {cpu_s:.2f} {user_pct:.0f} {per_m:.2f} {per_cpu:.0f} {int(rss) / 1024:.1f} "
      f"{load_pct:.0f} {busiest:.0f} {'ok' if ok else 'incomplete'} {rcvbuf}")
PY
}

echo "levels(sessions)=\"$LEVELS\" sessions/uclient=$SESSIONS_PER_CLIENT messages/session=$MESSAGES length=$LENGTH" \
  "interval=${INTERVAL_MS}ms $( ((CHANNELS)) && echo channels || echo send-indications) threads=$THREADS" \
  "peers=$PEERS relay_ports=$RELAY_PORTS cores=$(nproc)"
printf "%-7s %8s %11s %8s %9s %7s %6s %10s %10s %7s %9s %s\n" server sessions relayed_pps loss% srv_drops cpu_s \
  user% cpu_s/Mpkt pkt/cpu_s rss_MB load_cpu% note
declare -A best_pps best_per_cpu best_per_m best_level peak_rss lossy
servers=()
[[ $ONLY == ucedge ]] || servers+=(coturn)
[[ $ONLY == coturn ]] || servers+=(ucedge)
level_index=0
for sessions in $LEVELS; do
  level_index=$((level_index + 1))
  order=("${servers[@]}")
  # Alternate the order so neither server always runs second.
  if (( level_index % 2 == 0 && ${#servers[@]} == 2 )); then order=("${servers[1]}" "${servers[0]}"); fi
  ran=0
  for name in "${order[@]}"; do
    [[ -n ${lossy[$name]:-} && $KEEP_GOING != 1 ]] && continue
    ran=1
    "start_$name"
    read -r pps loss drops cpu_s user_pct per_m per_cpu rss load busiest status rcvbuf \
      <<<"$(run_level "$name" "$sessions")"
    stop_server
    note=''
    [[ $status == ok ]] || note="uclient did not finish (KEEP=DIR keeps its output);"
    (( busiest > 85 )) && note+=" a load generator used ${busiest}% of a core;"
    other=$((rcvbuf - drops))
    (( other > 0 )) && note+=" $other drops on client/peer sockets (not the server's);"
    printf "%-7s %8s %11s %8s %9s %7s %6s %10s %10s %7s %9s %s\n" "$name" "$sessions" "$pps" "$loss" "$drops" \
      "$cpu_s" "$user_pct" "$per_m" "$per_cpu" "$rss" "$load" "$note"
    if [[ -z ${peak_rss[$name]:-} ]] || greater "$rss" "${peak_rss[$name]}"; then
      peak_rss[$name]=$rss
    fi
    if [[ $status == ok ]] && ! greater "$loss" "$LOSS_TOLERANCE"; then
      if [[ -z ${best_pps[$name]:-} ]] || greater "$pps" "${best_pps[$name]}"; then
        best_pps[$name]=$pps best_per_cpu[$name]=$per_cpu best_per_m[$name]=$per_m best_level[$name]=$sessions
      fi
    else
      lossy[$name]=1
    fi
  done
  (( ran )) || break
done

echo
echo "highest lossless level (loss <= $LOSS_TOLERANCE%):"
for name in "${servers[@]}"; do
  if [[ -n ${best_pps[$name]:-} ]]; then
    printf "  %-7s %s sessions: %s relayed pps, %s CPU s per Mpkt, %s pkt per CPU s; peak RSS %s MB%s\n" "$name" \
      "${best_level[$name]}" "${best_pps[$name]}" "${best_per_m[$name]}" "${best_per_cpu[$name]}" \
      "${peak_rss[$name]}" "$([[ -n ${lossy[$name]:-} ]] && echo "" || echo "; no loss at any level: raise LEVELS")"
  else
    printf "  %-7s lost packets at every level\n" "$name"
  fi
done
if [[ -n ${best_pps[ucedge]:-} && -n ${best_pps[coturn]:-} ]]; then
  python3 - "${best_pps[ucedge]}" "${best_pps[coturn]}" "${best_per_cpu[ucedge]}" "${best_per_cpu[coturn]}" \
    "${peak_rss[ucedge]}" "${peak_rss[coturn]}" <<'PY'
import sys
u_pps, c_pps, u_cpu, c_cpu, u_rss, c_rss = map(float, sys.argv[1:])
print(f"ratio ucedge/coturn: lossless pps {u_pps / c_pps:.2f}, packets per CPU second {u_cpu / c_cpu:.2f}, "
      f"peak RSS {u_rss / c_rss:.2f}")
PY
fi
if [[ -n ${KEEP:-} ]]; then
  cp -r "$work" "$KEEP" && echo "raw output kept in $KEEP"
fi
