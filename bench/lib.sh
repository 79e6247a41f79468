# Shared by the bench/*.sh scripts: a work directory cleaned up on exit with
# the servers started in it, free loopback ports, and the HTTP round loop
# that runs ucedge and its peer alternately and prints the ratio.

bench_workdir() {  # sets $work; servers started later go into $pids
  work=$(mktemp -d)
  chmod 755 "$work"  # nginx workers started by root run as nobody
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

free_port() {  # free_port [udp]
  /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$@"
}

wait_for_url() {  # wait_for_url URL [curl options...]: up to 10 s
  local url=$1
  shift
  for _ in $(seq 100); do curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0; sleep 0.1; done
  curl -fsS -o /dev/null "$@" "$url"
}

# start_nginx PORT WORKERS ACCESS_LOG(0|1) LOCATION_BLOCK: nginx in $work/nginx.
start_nginx() {
  local port=$1 workers=$2 access_log=$3 location=$4
  mkdir -p "$work/nginx/www" "$work/nginx/tmp"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  $( ((access_log)) && echo "access_log $work/nginx/access.log;" || echo "access_log off;" )
  keepalive_requests 10000;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$port;
    $location
  }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  pids+=($!)
}

wrk_rps() {  # wrk_rps URL [wrk options...]: wrk's Requests/sec
  local url=$1
  shift
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$@" "$url" > "$work/wrk.txt"
  if grep -q "Non-2xx\|Socket errors" "$work/wrk.txt"; then cat "$work/wrk.txt" >&2; fi
  awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}

# http_rounds UCEDGE_URL NGINX_URL [wrk options...]: ROUNDS rounds, the order
# alternating so neither server always runs second; prints each and the mean.
http_rounds() {
  local ucedge_url=$1 nginx_url=$2 u n sum_u=0 sum_n=0
  shift 2
  printf "%-6s %14s %14s %8s\n" round ucedge_rps nginx_rps ratio
  for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then
      u=$(wrk_rps "$ucedge_url" "$@"); n=$(wrk_rps "$nginx_url" "$@")
    else
      n=$(wrk_rps "$nginx_url" "$@"); u=$(wrk_rps "$ucedge_url" "$@")
    fi
    printf "%-6s %14.0f %14.0f %8.2f\n" "$round" "$u" "$n" "$(echo "$u / $n" | bc -l)"
    sum_u=$(echo "$sum_u + $u" | bc -l); sum_n=$(echo "$sum_n + $n" | bc -l)
  done
  printf "%-6s %14.0f %14.0f %8.2f\n" mean "$(echo "$sum_u / $ROUNDS" | bc -l)" "$(echo "$sum_n / $ROUNDS" | bc -l)" \
    "$(echo "$sum_u / $sum_n" | bc -l)"
}
