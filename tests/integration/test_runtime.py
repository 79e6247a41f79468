"""The runtime as an operator and an HTTP client see it: health, readiness,
metrics, limits, keep-alive and pipelining, first start, signals."""
import json
import re
import os
import signal
import socket
import stat
import time

from conftest import BINARY, run


def curl(*args):
    return run(["curl", "-sS", *args])


def test_healthz_and_readyz_answer(ucedge):
    r = curl("-f", ucedge.url("http", "/healthz"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"status": "ok"}
    r = curl("-f", ucedge.url("http", "/readyz"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "ready"


def test_responses_carry_date_server_and_length(ucedge):
    r = curl("-i", ucedge.url("http", "/healthz"))
    head = r.stdout.split("\r\n\r\n")[0].lower()
    assert head.startswith("http/1.1 200")
    assert "\r\ndate: " in head and " gmt" in head
    assert "\r\nserver: ucedge" in head
    assert "\r\ncontent-length: 15" in head
    assert "\r\ncontent-type: application/json" in head


def test_metrics_count_requests_and_show_build_info(ucedge):
    for _ in range(3):
        curl("-f", ucedge.url("http", "/healthz"))
    curl(ucedge.url("http", "/no/such/thing"))
    r = curl("-f", ucedge.url("http", "/metrics"))
    assert r.returncode == 0
    text = r.stdout
    assert 'ucedge_build_info{version="' in text
    assert "# TYPE ucedge_http_requests_total counter" in text
    line = [l for l in text.splitlines() if l.startswith('ucedge_http_requests_total{listener="http",code="200"}')]
    assert line and int(line[0].split()[-1]) >= 3
    assert 'ucedge_http_requests_total{listener="http",code="404"} 1' in text
    assert 'ucedge_http_request_duration_seconds_bucket{listener="http",le="+Inf"}' in text
    assert 'ucedge_http_open_connections{listener="http"} 1' in text  # this scrape's own connection


def test_unknown_path_and_method_get_problem_details(ucedge):
    r = curl("-i", ucedge.url("http", "/nothing"))
    assert " 404 " in r.stdout.splitlines()[0]
    assert "application/problem+json" in r.stdout
    body = json.loads(r.stdout.split("\r\n\r\n", 1)[1])
    assert body["status"] == 404 and body["title"] == "Not Found"
    r = curl("-i", "-X", "DELETE", ucedge.url("http", "/healthz"))
    assert " 405 " in r.stdout.splitlines()[0]
    assert "allow: get, head, options" in r.stdout.lower()


def test_head_has_length_but_no_body(ucedge):
    r = curl("-sI", ucedge.url("http", "/healthz"))
    assert " 200 " in r.stdout.splitlines()[0]
    assert "content-length: 15" in r.stdout.lower()


def raw_exchange(port, payload, read_timeout=5.0):
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(payload)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except socket.timeout:
            pass
        return b"".join(chunks)


def test_oversized_header_gets_431_and_oversized_body_413(start_ucedge):
    u = start_ucedge(http_extra="max_header_size = 2048\nmax_body_size = 100\n")
    r = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Big: " + "a" * 4000, u.url("http", "/healthz"))
    assert r.stdout == "431"
    r = curl("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "x" * 500, u.url("http", "/healthz"))
    assert r.stdout == "413"
    # Still serving afterwards.
    assert curl("-f", u.url("http", "/healthz")).returncode == 0
    # Refused requests are counted by code, but only handled ones have a latency.
    text = curl("-f", u.url("http", "/metrics")).stdout
    assert 'ucedge_http_requests_total{listener="http",code="431"} 1' in text
    assert 'ucedge_http_requests_total{listener="http",code="413"} 1' in text
    def value(series):
        return int(next(l for l in text.splitlines() if l.startswith(series + " ")).split()[-1])
    handled = value('ucedge_http_requests_total{listener="http",code="200"}')  # the harness's /readyz, /healthz
    assert value('ucedge_http_request_duration_seconds_count{listener="http"}') == handled


def test_malformed_request_gets_400(ucedge):
    out = raw_exchange(ucedge.port("http"), b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    out = raw_exchange(ucedge.port("http"), b"GET http://other/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")


def test_keep_alive_reuses_one_connection(ucedge):
    url = ucedge.url("http", "/healthz")
    r = curl("-v", "-o", "/dev/null", "-o", "/dev/null", url, url)
    assert r.returncode == 0
    assert "Re-using existing connection" in r.stderr or "Reusing existing connection" in r.stderr


def test_pipelined_requests_answer_in_order(ucedge):
    payload = (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n"
               b"GET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out = raw_exchange(ucedge.port("http"), payload)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", out)
    assert statuses == [b"200", b"404", b"200"], out
    assert out.index(b'{"status":"ok"}') < out.index(b'"Not Found"') < out.index(b'{"status":"ready"}')


def test_idle_connection_is_closed_after_idle_timeout(start_ucedge):
    u = start_ucedge(http_extra='idle_timeout = "300ms"\n')
    with socket.create_connection(("127.0.0.1", u.port("http")), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(0.1)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert s.recv(65536) == b""  # closed by the server
        assert time.monotonic() - started < 3


def test_slow_header_is_cut_off_by_header_timeout(start_ucedge):
    u = start_ucedge(http_extra='header_timeout = "300ms"\n')
    with socket.create_connection(("127.0.0.1", u.port("http")), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            while True:
                s.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.1)
                if time.monotonic() - started > 4:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - started < 3


def test_first_start_creates_admin_once(start_ucedge, tmp_path):
    u = start_ucedge()
    out = u.output()
    assert 'Administrator account created: user "admin", password "' in out
    password = out.split('password "', 1)[1].split('"', 1)[0]
    secret = u.data_dir / "initial-admin-password"
    assert secret.read_text().strip() == password
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert u.stop() == 0
    u.start()
    assert u.output().count("Administrator account created") == 1


def test_prints_where_each_service_listens(ucedge):
    out = ucedge.output()
    for name in ("http", "https", "https_client_cert"):
        assert ucedge.url(name) in out


def test_sigterm_stops_cleanly_and_sighup_keeps_serving(ucedge):
    ucedge.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "reloaded" not in ucedge.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "reloaded" in ucedge.log()
    assert curl("-f", ucedge.url("http", "/healthz")).returncode == 0
    started = time.monotonic()
    assert ucedge.stop() == 0
    assert time.monotonic() - started < 5
    assert not (ucedge.data_dir / "listening.json").exists()


def test_sigterm_closes_idle_keepalive_connections_promptly(ucedge):
    with socket.create_connection(("127.0.0.1", ucedge.port("http")), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert ucedge.stop() == 0
        assert time.monotonic() - started < 3  # did not wait for the 5 s shutdown_timeout


def test_version_and_help():
    r = run([BINARY, "version"])
    assert r.returncode == 0 and r.stdout.startswith("ucedge ")
    r = run([BINARY, "--help"])
    assert r.returncode == 0
    for sub in ("serve", "version", "config", "tls"):
        assert sub in r.stdout


def test_http_1_0_gets_an_http_1_0_answer_and_close(ucedge):
    out = raw_exchange(ucedge.port("http"), b"GET /healthz HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.0 200 OK\r\n"), out
    assert out.endswith(b'{"status":"ok"}')  # and the server closed: raw_exchange read to EOF


def test_chunked_request_body_is_read_whole(ucedge):
    # /healthz takes no body, but the request must be read to its end for the
    # pipelined request behind it to be seen.
    payload = (b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
               b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out = raw_exchange(ucedge.port("http"), payload)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", out) == [b"405", b"200"], out


def test_expect_100_continue_is_answered_without_the_client_waiting(ucedge):
    # A client that sends "Expect: 100-continue" (curl does for large bodies)
    # and gets no interim answer waits a whole second before sending anyway.
    r = curl("-o", "/dev/null", "-w", "%{http_code} %{time_total}", "-v", "-H", "Expect: 100-continue",
             "--data-binary", "x" * 5000, ucedge.url("http", "/healthz"))
    code, seconds = r.stdout.split()
    assert "Expect: 100-continue" in r.stderr
    assert "HTTP/1.1 100 Continue" in r.stderr
    assert code == "405"
    assert float(seconds) < 0.9
