"""Provisioning over HTTP, HTTPS and HTTPS with device certificates, as
phones and operators meet it: curl as the phone, `openssl enc -d` and
`gunzip` to open encoded profiles, requests for the admin API, and the
`ucedge prov` command line."""
import json
import re
import subprocess
import time

import pytest
import requests

from conftest import BINARY, run
from pki import Pki

SAMPLE = "000e08abcdef"
SAMPLE_UA = "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)"


def curl(u, path, listener="http", ua=None, extra=(), head=False):
    """Fetches like a phone; returns (status, headers text, body bytes)."""
    args = ["curl", "-sS", "--path-as-is", "-D", "-", "-o", "-"]
    if ua:
        args += ["-A", ua]
    if listener != "http":
        args += ["--cacert", str(u.data_dir / "tls/dev-ca.pem"), "--resolve",
                 f"localhost:{u.port(listener)}:127.0.0.1"]
        base = f"https://localhost:{u.port(listener)}"
    else:
        base = u.url("http")
    r = subprocess.run(args + list(extra) + [base + path], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    head_text, _, body = r.stdout.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ", 2)[1])
    return status, head_text.decode(errors="replace"), body


def header(headers, name):
    m = re.search(rf"^{name}: (.*)$", headers, re.I | re.M)
    return m.group(1).strip() if m else None


def api(u, method, path, **kwargs):
    kwargs.setdefault("auth", u.admin())
    return requests.request(method, u.url("http", path), timeout=30, **kwargs)


def cli(u, *args):
    return run([BINARY, "--config", u.config_file, "prov", *args])


def write_root(u, name, text):
    path = u.data_dir / "prov" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_sample_profile_is_rendered_for_the_phone_that_asks(ucedge):
    status, headers, body = curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA)
    assert status == 200, body
    text = body.decode()
    assert '<GPP_A ua="na">12345678</GPP_A>' in text
    assert '<GPP_B ua="na">Dj6Lmp23Q</GPP_B>' in text
    assert "Sample Phone" in text
    assert '<Syslog_Server ua="na">127.0.0.1:5514</Syslog_Server>' in text
    assert header(headers, "Content-Type").startswith("application/xml")
    assert header(headers, "ETag")


def test_per_mac_profile_expands_server_macros_and_leaves_the_phones_own(ucedge):
    # No User-Agent: the MAC in the file name picks the device (seed 004's CP-7841-3PCC$MA.cfg).
    status, _, body = curl(ucedge, f"/prov/CP-7841-3PCC{SAMPLE}.cfg")
    assert status == 200, body
    text = body.decode()
    assert "CP-7841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync" in text
    assert f"http://127.0.0.1:{ucedge.port('http')}/prov/CP-7841-3PCC{SAMPLE}.cfg" in text
    assert "Resync failed: $ERR" in text  # the phone fills $ERR, not the server
    assert "$MA" not in text.replace("$ERR", "")


def test_unknown_device_and_unknown_file_are_not_found(ucedge):
    assert curl(ucedge, "/prov/CP-7841-3PCC0000deadbeef.cfg")[0] == 404
    assert curl(ucedge, "/prov/no-such-file.cfg")[0] == 404


def test_static_file_and_conditional_get(ucedge):
    status, headers, body = curl(ucedge, "/prov/basic.txt")
    assert status == 200
    assert body == b'<flat-profile>\n  <GPP_A ua="na">12345678</GPP_A>\n</flat-profile>\n'
    etag = header(headers, "ETag")
    status, headers, body = curl(ucedge, "/prov/basic.txt", extra=["-H", f"If-None-Match: {etag}"])
    assert status == 304 and body == b""
    # A changed file has a new ETag and is sent again.
    time.sleep(0.01)
    write_root(ucedge, "basic.txt", "<flat-profile><GPP_A>1</GPP_A></flat-profile>\n")
    status, headers, body = curl(ucedge, "/prov/basic.txt", extra=["-H", f"If-None-Match: {etag}"])
    assert status == 200 and b"<GPP_A>1</GPP_A>" in body
    assert header(headers, "ETag") != etag


def test_rendered_profile_has_a_stable_etag_until_its_inputs_change(ucedge):
    path = f"/prov/{SAMPLE}.xml"
    _, headers, first = curl(ucedge, path, ua=SAMPLE_UA)
    etag = header(headers, "ETag")
    status, _, _ = curl(ucedge, path, ua=SAMPLE_UA, extra=["-H", f"If-None-Match: {etag}"])
    assert status == 304
    r = api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"gpp": {"A": "87654321", "B": "x"}})
    assert r.status_code == 200, r.text
    status, headers, body = curl(ucedge, path, ua=SAMPLE_UA, extra=["-H", f"If-None-Match: {etag}"])
    assert status == 200 and b"87654321" in body
    assert header(headers, "ETag") != etag


def test_a_phone_cannot_fetch_another_devices_file(ucedge):
    assert api(ucedge, "POST", "/api/v1/devices", json={"mac": "00:0e:08:11:22:33", "model": "CP-7841-3PCC"}).status_code == 201
    status, _, body = curl(ucedge, "/prov/CP-7841-3PCC000e08112233.cfg", ua=SAMPLE_UA)
    assert status == 403
    assert b"000e08abcdef asked for the file of device 000e08112233" in body
    # Control: the owner gets it.
    assert curl(ucedge, "/prov/CP-7841-3PCC000e08112233.cfg", ua="Cisco-CP-7841-3PCC/11.0 (000e08112233)")[0] == 200


@pytest.mark.parametrize("path", [
    "/prov/../ucedge.db", "/prov/%2e%2e/ucedge.db", "/prov/..%2fucedge.db", "/prov/%2e%2e%2f%2e%2e%2fetc/passwd",
    "/prov/%2Fetc%2Fpasswd", "/prov/dtaf/../../master.key", "/prov/.%2e/master.key", "/prov/a%5c..%5cmaster.key",
    "/prov/basic.txt%00.cfg",
])
def test_path_traversal_is_refused_over_http(ucedge, path):
    status, _, body = curl(ucedge, path)
    assert status in (400, 403, 404), (status, body)
    assert b"SQLite" not in body and b"root:" not in body and len(body) < 2000


def test_template_that_cannot_render_answers_500_and_logs_why(ucedge):
    write_root(ucedge, "broken.cfg.tmpl", "<flat-profile><GPP_A>$(MA</GPP_A></flat-profile>\n")
    status, _, body = curl(ucedge, "/prov/broken.cfg", ua=SAMPLE_UA)
    assert status == 500
    assert b"GPP_A" not in body  # never a half-rendered profile
    deadline = time.monotonic() + 5
    while "cannot render broken.cfg.tmpl" not in ucedge.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "cannot render broken.cfg.tmpl" in ucedge.log()
    assert "unterminated" in ucedge.log()


def test_dtaf_template_assigned_to_the_device_fills_its_tags(ucedge):
    status, _, body = curl(ucedge, "/prov/config-wxt.xml", ua=SAMPLE_UA)
    assert status == 200, body
    assert b"<root>https://xsp.example.com</root>" in body
    assert b"<actions>/com.broadsoft.xsi-actions/</actions>" in body


def test_post_rule_is_answered_like_get(ucedge):
    status, _, body = curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA, extra=["--data-binary", "state=idle"])
    assert status == 200 and b"12345678" in body


@pytest.mark.parametrize("kdf,flags", [("md5", ["-md", "md5"]), ("sha256", ["-md", "sha256"]), ("pbkdf2", ["-pbkdf2"])])
def test_gzip_then_aes_profile_opens_with_openssl_enc_and_gunzip(ucedge, tmp_path, kdf, flags):
    # The key comes from a device field ($B), so each phone has its own.
    r = api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}",
            json={"encoding": "gzip+aes", "key_derivation": kdf, "profile_key": "$B", "gpp": {"A": "12345678", "B": "MyOwnSecret"}})
    assert r.status_code == 200, r.text
    assert r.json()["profile_key_set"] is True and "profile_key" not in r.json()  # secrets never leave
    status, headers, body = curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA)
    assert status == 200
    assert body.startswith(b"Salted__")
    assert header(headers, "Content-Type") == "application/octet-stream"
    enc = tmp_path / "profile.enc"
    enc.write_bytes(body)
    dec = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", *flags, "-k", "MyOwnSecret", "-in", enc],
                         capture_output=True, timeout=30)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout[:2] == b"\x1f\x8b"  # compressed before encrypted
    plain = subprocess.run(["gunzip", "-c"], input=dec.stdout, capture_output=True, timeout=30)
    assert plain.returncode == 0
    assert b'<GPP_A ua="na">12345678</GPP_A>' in plain.stdout
    # Wrong key: openssl refuses it.
    bad = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", *flags, "-k", "wrong", "-in", enc],
                         capture_output=True, timeout=30)
    assert bad.returncode != 0 or not bad.stdout.startswith(b"\x1f\x8b")


def test_model_settings_gzip_profiles_of_that_model(start_ucedge, tmp_path):
    u = start_ucedge(extra='\n[prov.models."CP-7841-3PCC"]\ngzip = true\n')
    status, _, body = curl(u, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA)
    assert status == 200 and body[:2] == b"\x1f\x8b"
    plain = subprocess.run(["gunzip", "-c"], input=body, capture_output=True, timeout=30)
    assert b"12345678" in plain.stdout


def test_device_with_http_credentials_must_present_them(ucedge):
    r = api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"http_username": "phone1", "http_password": "s3cr3t é"})
    assert r.status_code == 200, r.text
    status, headers, _ = curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA)
    assert status == 401 and "Basic" in header(headers, "WWW-Authenticate")
    assert curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA, extra=["-u", "phone1:wrong"])[0] == 401
    status, _, body = curl(ucedge, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA, extra=["-u", "phone1:s3cr3t é"])
    assert status == 200 and b"12345678" in body


def test_guessing_a_devices_credentials_is_rate_limited(start_ucedge):
    u = start_ucedge(prov_extra="auth_failures_per_minute = 2")
    api(u, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"http_username": "phone1", "http_password": "right"})
    assert curl(u, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA)[0] == 401  # no credentials yet: not a guess
    for guess in ("a", "b"):
        assert curl(u, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA, extra=["-u", f"phone1:{guess}"])[0] == 401
    status, headers, _ = curl(u, f"/prov/{SAMPLE}.xml", ua=SAMPLE_UA, extra=["-u", "phone1:right"])
    assert status == 429 and int(header(headers, "Retry-After")) > 0


def test_https_serves_the_same_profile(ucedge):
    status, _, body = curl(ucedge, f"/prov/{SAMPLE}.xml", listener="https", ua=SAMPLE_UA)
    assert status == 200 and b"12345678" in body


def test_device_certificate_picks_and_fills_the_profile(ucedge, tmp_path):
    pki = Pki(ucedge, tmp_path)
    cert, key = pki.make_client("phone", f"/C=US/ST=California/L=San Jose/O=Cisco/OU=CP-7841-3PCC/CN=CP-7841-3PCC-SEP{SAMPLE}")
    # The reflector: what the certificate says, in the profile.
    status, _, body = curl(ucedge, "/prov/reflect.xml", listener="https_client_cert",
                           extra=["--cert", str(cert), "--key", str(key)])
    assert status == 200, body
    assert b"OU=CP-7841-3PCC, L=San Jose, S=California, CN=CP-7841-3PCC-SEP000e08abcdef" in body
    # The certificate picks the device even without a MAC in the name or a User-Agent.
    status, _, body = curl(ucedge, f"/prov/{SAMPLE}.xml", listener="https_client_cert",
                           extra=["--cert", str(cert), "--key", str(key)])
    assert status == 200 and b"12345678" in body
    # Another device's file with this certificate: refused.
    assert api(ucedge, "POST", "/api/v1/devices", json={"mac": "000e08112233"}).status_code == 201
    status, _, body = curl(ucedge, "/prov/CP-7841-3PCC000e08112233.cfg", listener="https_client_cert",
                           extra=["--cert", str(cert), "--key", str(key)])
    assert status == 403, body
    # A certificate the CA signed for no registered device: refused.
    other, other_key = pki.make_client("stranger", "/O=Cisco/CN=CP-7841-3PCC-SEP0000deadbeef")
    status, _, body = curl(ucedge, "/prov/basic.txt", listener="https_client_cert",
                           extra=["--cert", str(other), "--key", str(other_key)])
    assert status == 403 and b"names no registered device" in body
    # No certificate at all: the handshake fails.
    r = run(["curl", "-sS", "--cacert", ucedge.data_dir / "tls/dev-ca.pem", "--resolve",
             f"localhost:{ucedge.port('https_client_cert')}:127.0.0.1",
             f"https://localhost:{ucedge.port('https_client_cert')}/prov/basic.txt"])
    assert r.returncode != 0


def test_report_rule_upload_is_kept_per_device(ucedge):
    status, headers, body = curl(ucedge, f"/prov/reports/{SAMPLE}.xml", ua=SAMPLE_UA,
                                 extra=["--data-binary", "<flat-profile><GPP_A>reported</GPP_A></flat-profile>"])
    assert status == 201, body
    location = header(headers, "Location")
    device = api(ucedge, "GET", f"/api/v1/devices/{SAMPLE}").json()
    assert device["reports"][0]["name"] == f"{SAMPLE}.xml"
    got = api(ucedge, "GET", location)
    assert got.status_code == 200 and b"<GPP_A>reported</GPP_A>" in got.content
    # An upload naming no device is refused; downloads from reports/ are refused.
    assert curl(ucedge, "/prov/reports/unknown.xml", extra=["--data-binary", "x"])[0] == 403
    assert curl(ucedge, f"/prov/reports/{SAMPLE}.xml", ua=SAMPLE_UA)[0] == 403


def test_admin_api_needs_an_administrator(ucedge):
    assert api(ucedge, "GET", "/api/v1/devices", auth=None).status_code == 401
    assert api(ucedge, "GET", "/api/v1/devices", auth=("admin", "wrong")).status_code == 401
    r = api(ucedge, "GET", "/api/v1/devices")
    assert r.status_code == 200 and r.json()["devices"][0]["mac"] == SAMPLE


def test_device_api_create_read_update_delete(ucedge):
    r = api(ucedge, "POST", "/api/v1/devices", json={"mac": "00-0E-08-AA-BB-CC", "model": "CP-8841-3PCC",
                                                     "customer": "acme", "gpp": {"A": "1"}})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/api/v1/devices/000e08aabbcc"
    assert r.json()["product_series"] == "8841"
    assert api(ucedge, "POST", "/api/v1/devices", json={"mac": "000e08aabbcc"}).status_code == 409
    assert api(ucedge, "POST", "/api/v1/devices", json={"mac": "nonsense"}).status_code == 400
    assert api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"gpp": {"Z": "1"}}).status_code == 400
    assert api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"customer": "../etc"}).status_code == 400
    assert api(ucedge, "PATCH", f"/api/v1/devices/{SAMPLE}", json={"bogus": 1}).status_code == 400
    listed = api(ucedge, "GET", "/api/v1/devices?customer=acme").json()["devices"]
    assert [d["mac"] for d in listed] == ["000e08aabbcc"]
    # A customer's own directory wins over the root.
    write_root(ucedge, "acme/basic.txt", "acme's basic\n")
    assert curl(ucedge, "/prov/basic.txt", ua="Cisco-CP-8841-3PCC/11.0 (000e08aabbcc)")[2] == b"acme's basic\n"
    assert curl(ucedge, "/prov/basic.txt", ua=SAMPLE_UA)[2] != b"acme's basic\n"
    assert api(ucedge, "DELETE", "/api/v1/devices/000e08aabbcc").status_code == 204
    assert api(ucedge, "GET", "/api/v1/devices/000e08aabbcc").status_code == 404
    assert api(ucedge, "DELETE", "/api/v1/devices/000e08aabbcc").status_code == 404


def test_preview_shows_what_the_device_would_receive(ucedge):
    r = api(ucedge, "GET", f"/api/v1/devices/{SAMPLE}/profiles/CP-7841-3PCC{SAMPLE}.cfg")
    assert r.status_code == 200, r.text
    assert r.headers["X-Ucedge-Source"] == "CP-7841-3PCC$MA.cfg"
    assert "CP-7841-3PCC 00:0e:08:ab:cd:ef" in r.text


def activate(u, code, mac, ua=True):
    extra = ["--data-urlencode", f"code={code}"]
    agent = f"Cisco-CP-8851-3PCC/11.2.3 ({mac})" if ua else None
    if not ua:
        extra += ["--data-urlencode", f"mac={mac}"]
    return curl(u, "/prov/activate", ua=agent, extra=extra)


def test_activation_code_onboards_a_phone_once(ucedge):
    r = api(ucedge, "POST", "/api/v1/activation-codes", json={"subscriber": "alice", "customer": "acme"})
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert re.fullmatch(r"\d{16}", code)
    assert r.json()["expires_at"] - r.json()["created_at"] == 7 * 86400
    # The code travels in a POST body, never in a URL an access log keeps.
    assert curl(ucedge, f"/prov/activate?code={code}", ua="Cisco-CP-8851-3PCC/11.2.3 (00562b043615)")[0] == 404
    status, _, body = activate(ucedge, code, "00562b043615")
    assert status == 200, body
    assert f"<Profile_Rule ua=\"na\">http://127.0.0.1:{ucedge.port('http')}/prov/00562b043615.xml</Profile_Rule>".encode() in body
    device = api(ucedge, "GET", "/api/v1/devices/00562b043615").json()
    assert device["subscriber"] == "alice" and device["customer"] == "acme" and device["model"] == "CP-8851-3PCC"
    # Once only.
    status, _, body = activate(ucedge, code, "00562b043615")
    assert status == 403 and b"already used" in body
    status, _, body = activate(ucedge, "1234567812345678", "00562b043616")
    assert status == 403 and b"invalid activation code" in body
    listed = api(ucedge, "GET", "/api/v1/activation-codes").json()["codes"]
    assert listed[0]["hint"] == code[-4:] and "code" not in listed[0] and listed[0]["used_by"] == "00562b043615"


def test_activation_code_bound_to_a_device_refuses_another(ucedge):
    code = api(ucedge, "POST", "/api/v1/activation-codes", json={"device": "00562b000001"}).json()["code"]
    status, _, body = activate(ucedge, code, "00562b000002", ua=False)
    assert status == 403 and b"another device" in body
    assert activate(ucedge, code, "00562b000001", ua=False)[0] == 200


def test_guessing_activation_codes_is_rate_limited(start_ucedge):
    u = start_ucedge(prov_extra="activation_failures_per_minute = 3")
    code = api(u, "POST", "/api/v1/activation-codes", json={"subscriber": "bob"}).json()["code"]
    for guess in ("0000000000000001", "0000000000000002", "0000000000000003"):
        assert activate(u, guess, "00562b000003")[0] == 403
    status, headers, body = activate(u, code, "00562b000003")
    # Even the right code waits: the address has used up its guesses.
    assert status == 429 and int(header(headers, "Retry-After")) > 0


def test_cli_manages_devices_and_renders_what_a_device_receives(ucedge):
    r = cli(ucedge, "device", "add", "00:11:22:33:44:55", "--model", "CP-7841-3PCC", "--gpp", "A=fromcli",
            "--customer", "acme")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "added 001122334455\n"
    assert cli(ucedge, "device", "add", "001122334455").returncode != 0
    r = cli(ucedge, "device", "list")
    assert "001122334455  CP-7841-3PCC  acme" in r.stdout
    assert json.loads(cli(ucedge, "device", "show", "001122334455").stdout)["gpp"] == {"A": "fromcli"}
    r = cli(ucedge, "render", "001122334455", "CP-7841-3PCC001122334455.cfg")
    assert r.returncode == 0, r.stderr
    assert '<GPP_A ua="na">fromcli</GPP_A>' in r.stdout
    # The running daemon picks up the change within seconds and serves the same profile.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _, body = curl(ucedge, "/prov/CP-7841-3PCC001122334455.cfg")
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200 and b"fromcli" in body
    code = cli(ucedge, "code", "create", "--subscriber", "carol", "--lifetime", "1h").stdout.strip()
    assert re.fullmatch(r"\d{16}", code)
    assert activate(ucedge, code, "00562b000009")[0] == 200
    assert cli(ucedge, "device", "remove", "001122334455").stdout == "removed 001122334455\n"
    assert cli(ucedge, "device", "show", "001122334455").returncode != 0
