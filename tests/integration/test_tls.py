"""The TLS policy as real clients meet it: `openssl s_client` and curl against
the HTTPS listeners, with certificates made by the `openssl` command line.

Every refusal has a control: the same client and the same certificate, let in
by a server configured to allow it, so a refusal proves the policy and not a
client that would not try."""
import json
import signal
import subprocess
import time

import pytest

from conftest import BINARY, run
from pki import Pki

# Debian's openssl.cnf raises the client's own floor to TLS 1.2; these let the
# client try what the server must refuse.
LEGACY_CLIENT = ["-cipher", "DEFAULT:@SECLEVEL=0"]


def s_client(port, *args, stdin=b"Q\n"):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                           *args], input=stdin, capture_output=True, timeout=30)


def handshake_ok(r):
    """s_client completed a handshake: it names the protocol and a cipher."""
    out = r.stdout.decode(errors="replace")
    return r.returncode == 0 and "Cipher is (NONE)" not in out and ("New, TLSv1." in out)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def whoami(u, cert=None, key=None):
    """GET /api/v1/tls/client on the client-certificate listener with curl."""
    args = ["curl", "-sS", "--cacert", str(u.data_dir / "tls/dev-ca.pem"), "--resolve",
            f"localhost:{u.port('https_client_cert')}:127.0.0.1"]
    if cert:
        args += ["--cert", str(cert), "--key", str(key)]
    args.append(f"https://localhost:{u.port('https_client_cert')}/api/v1/tls/client")
    r = run(args)
    if r.returncode != 0:
        return None, r
    return json.loads(r.stdout), r


def test_tls_1_1_is_refused_by_the_server(ucedge, tmp_path):
    r = s_client(ucedge.port("https"), "-tls1_1", *LEGACY_CLIENT)
    assert not handshake_ok(r)
    assert b"protocol version" in r.stderr + r.stdout
    # Control: the same client speaks TLS 1.1 to a server that allows it.
    ca = ucedge.data_dir / "tls"
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", ca / "server.pem", "-key",
                            ca / "server.key", "-tls1_1", *LEGACY_CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        line = ""
        for _ in range(20):  # it may say other things first
            line = srv.stdout.readline().decode()
            if line.startswith("ACCEPT"):
                break
        assert line.startswith("ACCEPT"), line
        port = int(line.rsplit(":", 1)[1])
        r = s_client(port, "-tls1_1", *LEGACY_CLIENT)
        assert handshake_ok(r), r.stderr
    finally:
        srv.kill()
        srv.wait()


@pytest.mark.parametrize("version,flag", [("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")])
def test_tls_1_2_and_1_3_are_accepted_and_verify(ucedge, version, flag):
    r = s_client(ucedge.port("https"), flag, "-CAfile", str(ucedge.data_dir / "tls/dev-ca.pem"),
                 "-verify_return_error")
    out = r.stdout.decode()
    assert handshake_ok(r), r.stderr
    assert f"New, {version}" in out
    assert "Verify return code: 0 (ok)" in out


def test_cipher_outside_the_policy_is_refused(start_ucedge):
    u = start_ucedge()
    cbc = ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"]
    assert not handshake_ok(s_client(u.port("https"), *cbc))
    tls13 = ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]
    assert handshake_ok(s_client(u.port("https"), *tls13))
    u.stop()
    # Control: a policy that lists the CBC suite lets the same client in, and
    # one that lists only AES-256 refuses the AES-128 TLS 1.3 client.
    u2 = start_ucedge(extra='\n[tls.interface.https]\ncipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", '
                            '"TLS_AES_256_GCM_SHA384"]\n')
    assert handshake_ok(s_client(u2.port("https"), *cbc))
    assert not handshake_ok(s_client(u2.port("https"), *tls13))


def test_client_certificate_from_the_trusted_ca_reaches_the_handler(ucedge, tmp_path):
    pki = Pki(ucedge, tmp_path)
    cert, key = pki.make_client("phone", "/C=IT/ST=Lazio/L=Roma/O=Acme/OU=phones/CN=CP-8841-3PCC/serialNumber=FCH1234")
    identity, r = whoami(ucedge, cert, key)
    assert identity is not None, r.stderr
    assert identity["common_name"] == "CP-8841-3PCC"
    assert identity["organizational_unit"] == "phones"
    assert identity["locality"] == "Roma" and identity["state"] == "Lazio"
    assert identity["serial_number"] == "FCH1234"
    # The generated development client certificate works too.
    identity, r = whoami(ucedge, ucedge.data_dir / "tls/dev-client.pem", ucedge.data_dir / "tls/dev-client.key")
    assert identity and identity["common_name"] == "ucedge-dev-client", r.stderr


def test_missing_or_unknown_client_certificate_is_refused(ucedge, tmp_path):
    identity, r = whoami(ucedge)
    assert identity is None
    pki = Pki(ucedge, tmp_path)
    other_ca = pki.make_ca("other-ca")
    cert, key = pki.make_client("stranger", "/CN=stranger", ca=other_ca)
    identity, r = whoami(ucedge, cert, key)
    assert identity is None
    # The plain HTTPS listener does not ask for a certificate at all.
    r = run(["curl", "-sS", "-f", "--cacert", str(ucedge.data_dir / "tls/dev-ca.pem"), "--resolve",
             f"localhost:{ucedge.port('https')}:127.0.0.1", f"https://localhost:{ucedge.port('https')}/healthz"])
    assert r.returncode == 0, r.stderr


def test_cn_outside_client_identities_is_refused(start_ucedge, tmp_path):
    u = start_ucedge(client_cert_extra='client_identities = ["phone-1"]')
    pki = Pki(u, tmp_path)
    ok, _ = whoami(u, *pki.make_client("p1", "/CN=phone-1"))
    assert ok and ok["common_name"] == "phone-1"
    refused, _ = whoami(u, *pki.make_client("p2", "/CN=phone-2"))
    assert refused is None
    assert wait_for(lambda: "phone-2" in u.log()), u.log()


def test_required_eku_is_enforced(start_ucedge, tmp_path):
    oid = "1.3.6.1.4.1.6431.1.1.8.2.1.3"
    u = start_ucedge(client_cert_extra=f'required_eku = ["{oid}", "clientAuth"]')
    pki = Pki(u, tmp_path)
    refused, _ = whoami(u, *pki.make_client("plain", "/CN=proxy-a"))
    assert refused is None
    ok, r = whoami(u, *pki.make_client("bridge", "/CN=proxy-b", eku=f"clientAuth,{oid}"))
    assert ok and ok["common_name"] == "proxy-b", r.stderr


def test_san_client_certificates_refused_when_configured(start_ucedge, tmp_path):
    u = start_ucedge(client_cert_extra="refuse_san_client_certs = true")
    pki = Pki(u, tmp_path)
    refused, _ = whoami(u, *pki.make_client("san", "/CN=with-san", san="DNS:phone.example.net"))
    assert refused is None
    ok, r = whoami(u, *pki.make_client("nosan", "/CN=without-san"))
    assert ok and ok["common_name"] == "without-san", r.stderr


def test_trust_anchor_added_by_alias_is_used_after_sighup(start_ucedge, tmp_path):
    u = start_ucedge()
    pki = Pki(u, tmp_path)
    partner_ca = pki.make_ca("partner-ca")
    cert, key = pki.make_client("partner-phone", "/CN=partner-phone", ca=partner_ca)
    assert whoami(u, cert, key)[0] is None

    cli = [BINARY, "--config", str(u.config_file), "tls", "trust"]
    r = run(cli + ["add", "partner", str(partner_ca[0])])
    assert r.returncode == 0, r.stderr
    listing = run(cli + ["list"])
    assert "partner" in listing.stdout and "ucedge-dev-ca" in listing.stdout

    u.signal(signal.SIGHUP)
    time.sleep(0.5)
    identity, r = whoami(u, cert, key)
    assert identity and identity["common_name"] == "partner-phone", r.stderr

    assert run(cli + ["remove", "partner"]).returncode == 0
    u.signal(signal.SIGHUP)
    time.sleep(0.5)
    assert whoami(u, cert, key)[0] is None


def test_trust_add_refuses_a_non_ca_certificate_and_bad_alias(ucedge, tmp_path):
    pki = Pki(ucedge, tmp_path)
    leaf, _ = pki.make_client("leaf", "/CN=leaf")
    cli = [BINARY, "--config", str(ucedge.config_file), "tls", "trust", "add"]
    r = run(cli + ["leaf", str(leaf)])
    assert r.returncode != 0 and r.stderr.strip()
    r = run(cli + ["../evil", str(ucedge.data_dir / "tls/dev-ca.pem")])
    assert r.returncode != 0 and r.stderr.strip()


def served_fingerprint(port):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"],
                       input=b"Q\n", capture_output=True, timeout=30)
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=r.stdout,
                        capture_output=True, timeout=30)
    return fp.stdout.decode().strip()


def self_signed(dir, name):
    key, cert = dir / f"{name}.key", dir / f"{name}.pem"
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={name}", "-addext",
             "subjectAltName=DNS:localhost"])
    assert r.returncode == 0, r.stderr
    return cert, key


def test_sighup_swaps_the_server_certificate_and_survives_a_broken_one(start_ucedge, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    a_cert, a_key = self_signed(certs, "first")
    b_cert, b_key = self_signed(certs, "second")
    live_cert, live_key = certs / "live.pem", certs / "live.key"
    live_cert.write_bytes(a_cert.read_bytes())
    live_key.write_bytes(a_key.read_bytes())
    u = start_ucedge(extra=f'\n[tls.interface.https]\ncertificate = "{live_cert}"\nprivate_key = "{live_key}"\n')

    def fingerprint_of(cert):
        return run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert]).stdout.strip()

    assert served_fingerprint(u.port("https")) == fingerprint_of(a_cert)
    live_cert.write_bytes(b_cert.read_bytes())
    live_key.write_bytes(b_key.read_bytes())
    u.signal(signal.SIGHUP)
    assert wait_for(lambda: served_fingerprint(u.port("https")) == fingerprint_of(b_cert))

    # A key that does not match: the reload fails, the second certificate stays.
    live_key.write_bytes(a_key.read_bytes())
    u.signal(signal.SIGHUP)
    assert wait_for(lambda: "reload failed" in u.log()), u.log()
    assert served_fingerprint(u.port("https")) == fingerprint_of(b_cert)


def test_optional_client_auth_verifies_a_certificate_only_when_sent(start_ucedge, tmp_path):
    u = start_ucedge(extra='\n[tls.interface.https]\nclient_auth = "optional"\n')
    base = ["curl", "-sS", "--cacert", str(u.data_dir / "tls/dev-ca.pem"), "--resolve",
            f"localhost:{u.port('https')}:127.0.0.1"]
    url = f"https://localhost:{u.port('https')}/api/v1/tls/client"
    anonymous = run(base + ["-o", "/dev/null", "-w", "%{http_code}", url])
    assert anonymous.stdout == "404", anonymous.stderr  # let in, with no identity
    with_cert = run(base + ["--cert", str(u.data_dir / "tls/dev-client.pem"), "--key",
                            str(u.data_dir / "tls/dev-client.key"), url])
    assert json.loads(with_cert.stdout)["common_name"] == "ucedge-dev-client", with_cert.stderr
    pki = Pki(u, tmp_path)
    stranger = run(base + ["--cert", str(pki.make_client("s", "/CN=s", ca=pki.make_ca("elsewhere"))[0]),
                           "--key", str(tmp_path / "pki/s.key"), url])
    assert stranger.returncode != 0  # a certificate that is sent must verify
