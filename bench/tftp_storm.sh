#!/usr/bin/env bash
# bench/tftp_storm.sh: a TFTP download storm (a fleet of phones fetching their
# common profile at once) against ucedge's TFTP server and tftp-hpa's
# in.tftpd serving the same ~2 KB file from the same directory, in one run on
# this machine.
#
# ucedge-tftp-load makes TOTAL fetches with CONCURRENCY clients at a time, a
# new client socket per fetch (as a phone does), lock-step with retransmission,
# and checks every received size. ucedge runs WORKERS IO threads; in.tftpd
# forks a process per request, as it does in production.
# Prints files/s and failures for each, per round and the median ratio
# ucedge / tftpd-hpa.
#
#   bench/tftp_storm.sh                      # defaults below
#   TOTAL=20000 CONCURRENCY=128 WORKERS=2 ROUNDS=5 bench/tftp_storm.sh
#   BLKSIZE=1428 bench/tftp_storm.sh         # clients ask for a block size (RFC 2348)
#   ONLY=tftpd-hpa bench/tftp_storm.sh       # one server only (ONLY=ucedge for the other)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ucedge=${UCEDGE_BIN:-$root/build/dev/cmd/ucedge/ucedge}
load=${LOAD_BIN:-$root/build/dev/bench/ucedge-tftp-load}
tftpd=${TFTPD_BIN:-/usr/sbin/in.tftpd}
TOTAL=${TOTAL:-10000}
CONCURRENCY=${CONCURRENCY:-64}
LOAD_THREADS=${LOAD_THREADS:-1}
WORKERS=${WORKERS:-2}
ROUNDS=${ROUNDS:-3}
BLKSIZE=${BLKSIZE:-0}
SIZE=${SIZE:-2048}
ONLY=${ONLY:-}
FILE=common.cfg

[[ -x $tftpd ]] || { echo "missing $tftpd: apt-get install tftpd-hpa (see deps/debian.txt)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 1; }
if [[ ! -x $load || ( $ONLY != tftpd-hpa && ! -x $ucedge ) ]]; then
  echo "building ucedge and ucedge-tftp-load in build/dev" >&2
  (cd "$root" && cmake --preset dev >/dev/null &&
    cmake --build build/dev --target ucedge ucedge-tftp-load >/dev/null)
fi

. "$root/bench/lib.sh"
bench_workdir

# The profile both serve: a flat profile of SIZE bytes, no macros, so ucedge
# sends it as it is on disk.
mkdir -p "$work/root" "$work/var"
python3 - "$work/root/$FILE" "$SIZE" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
head, tail = '<flat-profile>\n', '</flat-profile>\n'
lines, i = [], 0
while len(head) + sum(map(len, lines)) + len(tail) < size:
    lines.append(f'  <GPP_{chr(65 + i % 16)} ua="na">value-{i:06d}</GPP_{chr(65 + i % 16)}>\n')
    i += 1
body = (head + ''.join(lines))[: size - len(tail)] + tail
open(path, 'w').write(body)
PY
size=$(stat -c %s "$work/root/$FILE")

start_tftpd() {
  tftpd_port=$(free_port udp)
  # --foreground: stay attached; --secure: chroot to the root, names are relative
  # to it; --user root: this benchmark runs as root and the file is root's.
  "$tftpd" --foreground --address "127.0.0.1:$tftpd_port" --secure --user "$(id -un)" "$work/root" \
    >"$work/tftpd.log" 2>&1 &
  pids+=($!)
}

start_ucedge() {
  ucedge_port=$(free_port udp)
  cat > "$work/ucedge.toml" <<TOML
[server]
data_dir = "$work/var"
threads = $WORKERS
[http]
listen = "127.0.0.1:0"
listen_tls = ""
listen_client_cert = ""
[log]
level = "warn"
file = "$work/ucedge.log"
[prov]
root = "$work/root"
sample = false
[prov.tftp]
listen = "127.0.0.1:$ucedge_port"
[prov.syslog]
listen = ""
[prov.sip]
listen = ""
TOML
  "$ucedge" serve --config "$work/ucedge.toml" >"$work/ucedge.out" 2>&1 &
  pids+=($!)
}

# One fetch, retried until the server answers with the whole file.
wait_for() {  # name port
  for _ in $(seq 100); do
    if "$load" --port "$2" --file "$FILE" --size "$size" --total 1 --concurrency 1 --timeout-ms 100 \
      --retries 1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "$1 does not serve $FILE on 127.0.0.1:$2" >&2
  [[ -f $work/ucedge.out ]] && tail -20 "$work/ucedge.out" "$work/ucedge.log" >&2 2>/dev/null
  exit 1
}

[[ $ONLY == ucedge ]] || { start_tftpd; wait_for tftpd-hpa "$tftpd_port"; }
[[ $ONLY == tftpd-hpa ]] || { start_ucedge; wait_for ucedge "$ucedge_port"; }

storm() {  # label port -> one JSON line
  "$load" --port "$2" --file "$FILE" --size "$size" --total "$TOTAL" --concurrency "$CONCURRENCY" \
    --threads "$LOAD_THREADS" --blksize "$BLKSIZE" --label "$1" || true
}
field() {  # json name
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

echo "file=$size bytes total=$TOTAL concurrency=$CONCURRENCY load_threads=$LOAD_THREADS blksize=$BLKSIZE" \
  "ucedge_threads=$WORKERS rounds=$ROUNDS"
printf "%-6s %12s %8s %10s %12s %8s %10s %8s\n" round ucedge_fps fail p99_ms tftpd_fps fail p99_ms ratio
ratios=()
for round in $(seq "$ROUNDS"); do
  u='' t=''
  # Alternate the order so neither server always runs second.
  if (( round % 2 )); then
    [[ $ONLY == tftpd-hpa ]] || u=$(storm ucedge "$ucedge_port")
    [[ $ONLY == ucedge ]] || t=$(storm tftpd-hpa "$tftpd_port")
  else
    [[ $ONLY == ucedge ]] || t=$(storm tftpd-hpa "$tftpd_port")
    [[ $ONLY == tftpd-hpa ]] || u=$(storm ucedge "$ucedge_port")
  fi
  uf=- ux=- up=- tf=- tx=- tp=- ratio=-
  if [[ -n $u ]]; then uf=$(field "$u" files_per_s); ux=$(field "$u" failures); up=$(field "$u" p99_ms); fi
  if [[ -n $t ]]; then tf=$(field "$t" files_per_s); tx=$(field "$t" failures); tp=$(field "$t" p99_ms); fi
  if [[ -n $u && -n $t ]]; then
    ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$uf" "$tf")
    ratios+=("$ratio")
  fi
  printf "%-6s %12s %8s %10s %12s %8s %10s %8s\n" "$round" "$uf" "$ux" "$up" "$tf" "$tx" "$tp" "$ratio"
  [[ -n ${VERBOSE:-} ]] && { [[ -n $u ]] && echo "$u"; [[ -n $t ]] && echo "$t"; }
done
if (( ${#ratios[@]} )); then
  median=$(python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' \
    "${ratios[@]}")
  echo "median ratio ucedge/tftpd-hpa files/s: $median"
fi
