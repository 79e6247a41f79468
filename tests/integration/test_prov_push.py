"""Resync push as phones receive it: sipp plays a phone with Resync_From_SIP
on (UDP and TCP) and takes the NOTIFY "Event: resync"; a small HTTP server
plays a phone's CGI/Execute (no real phone runs here)."""
import http.server
import pathlib
import socket
import subprocess
import threading
import time
import urllib.parse

import requests

from conftest import run

SCENARIO = pathlib.Path(__file__).parent / "data/sipp_phone_resync.xml"


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sipp_phone(tmp_path, transport="u1"):
    port = free_port(socket.SOCK_STREAM if transport == "t1" else socket.SOCK_DGRAM)
    proc = subprocess.Popen(["sipp", "-sf", SCENARIO, "-i", "127.0.0.1", "-p", str(port), "-t", transport, "-m", "1",
                             "-timeout", "30s", "-nostdin", "-trace_err", "-error_file", tmp_path / f"sipp-{port}.err"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    # sipp binds before it reads the scenario's first message.
    time.sleep(0.5)
    return proc, port


def api(u, method, path, **kwargs):
    return requests.request(method, u.url("http", path), auth=u.admin(), timeout=30, **kwargs)


def test_sip_notify_over_udp_reaches_the_phone(ucedge, tmp_path):
    phone, port = start_sipp_phone(tmp_path)
    try:
        r = api(ucedge, "PATCH", "/api/v1/devices/000e08abcdef", json={"sip_contact": f"udp:1001@127.0.0.1:{port}"})
        assert r.status_code == 200, r.text
        r = api(ucedge, "POST", "/api/v1/devices/000e08abcdef/resync", json={"method": "sip", "wait_ms": 8000})
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        assert result["device"] == "000e08abcdef" and result["method"] == "sip_udp"
        assert result["state"] == "delivered" and result["status"] == 200, result
        assert phone.wait(timeout=20) == 0, phone.stderr.read()
    finally:
        phone.kill()


def test_sip_notify_over_tcp_reaches_the_phone(ucedge, tmp_path):
    phone, port = start_sipp_phone(tmp_path, transport="t1")
    try:
        api(ucedge, "PATCH", "/api/v1/devices/000e08abcdef", json={"sip_contact": f"tcp:127.0.0.1:{port}"})
        r = api(ucedge, "POST", "/api/v1/devices/000e08abcdef/resync", json={"wait_ms": 8000})
        result = r.json()["results"][0]
        assert result["method"] == "sip_tcp" and result["state"] == "delivered" and result["status"] == 200, result
        assert phone.wait(timeout=20) == 0, phone.stderr.read()
    finally:
        phone.kill()


def test_customer_resync_reports_each_device(start_ucedge, tmp_path):
    u = start_ucedge(sip_extra='timeout = "1500ms"')
    phone, port = start_sipp_phone(tmp_path)
    silent = free_port()  # nobody answers there
    try:
        for mac, contact in (("000e08000001", f"udp:127.0.0.1:{port}"), ("000e08000002", f"udp:127.0.0.1:{silent}"),
                             ("000e08000003", "")):
            r = api(u, "PUT", f"/api/v1/devices/{mac}", json={"customer": "acme", "sip_contact": contact})
            assert r.status_code == 201, r.text
        r = api(u, "POST", "/api/v1/customers/acme/resync", json={})
        assert r.status_code in (200, 202)
        job = r.headers["Location"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            j = api(u, "GET", job).json()
            if j["finished"]:
                break
            time.sleep(0.2)
        assert j["finished"], j
        by_device = {x["device"]: x for x in j["results"]}
        assert by_device["000e08000001"]["state"] == "delivered"
        assert by_device["000e08000002"]["state"] == "failed" and "timeout" in by_device["000e08000002"]["detail"]
        assert r.json()["skipped"] == [{"device": "000e08000003", "detail": "no sip_contact"}]
        # A method ucedge does not know is refused whole, whatever the devices hold.
        assert api(u, "POST", "/api/v1/customers/acme/resync", json={"method": "carrier-pigeon"}).status_code == 400
        assert phone.wait(timeout=20) == 0
    finally:
        phone.kill()


class CgiPhone(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        CgiPhone.received.append((self.path, self.headers.get("Authorization"), body))
        ok = self.headers.get("Authorization") is not None
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_cgi_execute_resync_posts_the_xml_object(ucedge):
    server = http.server.HTTPServer(("127.0.0.1", 0), CgiPhone)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        api(ucedge, "PATCH", "/api/v1/devices/000e08abcdef",
            json={"cgi_url": url, "cgi_username": "admin", "cgi_password": "phonepw"})
        r = api(ucedge, "POST", "/api/v1/devices/000e08abcdef/resync", json={"method": "cgi", "wait_ms": 8000})
        result = r.json()["results"][0]
        assert result["state"] == "delivered" and result["status"] == 200, result
        path, auth, body = CgiPhone.received[-1]
        assert path == "/CGI/Execute" and auth.startswith("Basic ")
        xml = urllib.parse.parse_qs(body.decode())["XML"][0]
        assert xml.startswith("<CP-7841-3PCCExecute>")
        assert f'<ExecuteItem URL="Resync:http://127.0.0.1:{ucedge.port("http")}/prov/000e08abcdef.xml"/>' in xml
        # Without credentials the phone says 401 and the push reports it.
        api(ucedge, "PATCH", "/api/v1/devices/000e08abcdef", json={"cgi_username": "", "cgi_password": ""})
        result = api(ucedge, "POST", "/api/v1/devices/000e08abcdef/resync",
                     json={"method": "cgi", "wait_ms": 8000}).json()["results"][0]
        assert result["state"] == "failed" and result["status"] == 401
    finally:
        server.shutdown()
