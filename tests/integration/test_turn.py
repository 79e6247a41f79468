"""The STUN/TURN relay with the clients its users have: coturn's
turnutils_stunclient, turnutils_uclient with turnutils_peer (UDP, TCP and TLS;
channels and Send/Data indications; long-term and TURN REST API credentials),
a headless Chromium that connects two RTCPeerConnections through the relay
only, and a small STUN client below for the answers the tools do not print
(401, 431, 438, 403, 437, 486).

Where a tool is missing the tests skip with the reason, except under CI=true,
where that is a failure (deps/debian.txt installs them).

UCEDGE_TURN_TARGET=coturn runs the same tests against Debian's coturn
(`turnserver`) instead, to tell a harness fault from a relay fault; the tests
about ucedge's own behaviour skip there."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import queue
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
import zlib

import pytest
import requests

from conftest import RELAY_PORTS, run

DATA = pathlib.Path(__file__).resolve().parent / "data"
TARGET = os.environ.get("UCEDGE_TURN_TARGET", "ucedge")
REALM = "ucedge.test"
USERS = {"alice": "correct horse battery", "bob": "s3cret-B0b"}
SECRET = "rest-secret-7f3c1a"
OLD_SECRET = "rest-secret-retired"

ucedge_only = pytest.mark.skipif(TARGET != "ucedge", reason="ucedge's own behaviour")


def required():
    return os.environ.get("CI") == "true" or os.environ.get("UCEDGE_REQUIRE_TURN_TOOLS") == "1"


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        message = "missing " + ", ".join(missing) + " (apt-get install coturn chromium; see deps/debian.txt)"
        if required():
            pytest.fail(message)
        pytest.skip(message)


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_tcp_port():
    """A port free for both UDP and TCP on loopback (coturn listens on both with one number)."""
    for _ in range(50):
        port = free_port(socket.SOCK_STREAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free for both UDP and TCP")


def in_relay_window(port):
    return RELAY_PORTS[0] <= port <= RELAY_PORTS[1]


def rest_credentials(secret, user, valid_for=3600, now=None):
    """TURN REST API convention: username "expiry:user", password base64(HMAC-SHA1(secret, username))."""
    username = "%d:%s" % (int(now if now is not None else time.time()) + valid_for, user)
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


# ---------------------------------------------------------------------------------------------------------------
# A small STUN/TURN client (RFC 8489, RFC 8656), for the answers the tools do not show.

MAGIC = 0x2112A442
BINDING, ALLOCATE, REFRESH, SEND, DATA_IND, CREATE_PERMISSION, CHANNEL_BIND = 0x001, 0x003, 0x004, 0x006, 0x007, \
    0x008, 0x009
REQUEST, INDICATION, SUCCESS, ERROR = 0x000, 0x010, 0x100, 0x110
A_MAPPED, A_USERNAME, A_INTEGRITY, A_ERROR, A_UNKNOWN = 0x0001, 0x0006, 0x0008, 0x0009, 0x000A
A_CHANNEL, A_LIFETIME, A_PEER, A_DATA, A_REALM, A_NONCE, A_RELAYED = 0x000C, 0x000D, 0x0012, 0x0013, 0x0014, \
    0x0015, 0x0016
A_FAMILY, A_TRANSPORT, A_XOR_MAPPED, A_SOFTWARE, A_FINGERPRINT = 0x0017, 0x0019, 0x0020, 0x8022, 0x8028


def message_type(method, cls):
    return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | cls


def split_type(t):
    method = (t & 0x000F) | ((t & 0x00E0) >> 1) | ((t & 0x3E00) >> 2)
    return method, t & 0x0110


def attribute(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_address(ip, port):
    packed = socket.inet_aton(ip)
    x = bytes(a ^ b for a, b in zip(packed, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, port ^ (MAGIC >> 16)) + x


def parse_xor_address(value):
    family, xport = struct.unpack("!xBH", value[:4])
    port = xport ^ (MAGIC >> 16)
    if family == 1:
        ip = socket.inet_ntoa(bytes(a ^ b for a, b in zip(value[4:8], struct.pack("!I", MAGIC))))
    else:
        ip = "ipv6"  # not used here
    return ip, port


def long_term_key(username, realm, password):
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).digest()


def encode(method, cls, attrs, txid=None, key=None, fingerprint=True):
    txid = txid or os.urandom(12)
    body = b"".join(attribute(k, v) for k, v in attrs)
    t = message_type(method, cls)
    if key is not None:
        header = struct.pack("!HHI12s", t, len(body) + 24, MAGIC, txid)
        body += attribute(A_INTEGRITY, hmac.new(key, header + body, hashlib.sha1).digest())
    if fingerprint:
        header = struct.pack("!HHI12s", t, len(body) + 8, MAGIC, txid)
        body += attribute(A_FINGERPRINT, struct.pack("!I", (zlib.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF))
    return struct.pack("!HHI12s", t, len(body), MAGIC, txid) + body, txid


class Answer:
    def __init__(self, raw):
        t, length, magic, self.txid = struct.unpack("!HHI12s", raw[:20])
        assert magic == MAGIC, raw
        assert len(raw) == 20 + length, "length field disagrees with the datagram"
        self.method, self.cls = split_type(t)
        self.raw = raw
        self.attrs = {}
        self.order = []
        i = 20
        while i + 4 <= len(raw):
            kind, n = struct.unpack("!HH", raw[i:i + 4])
            self.attrs.setdefault(kind, raw[i + 4:i + 4 + n])
            self.order.append(kind)
            i += 4 + n + (-n % 4)

    @property
    def code(self):
        if self.cls != ERROR:
            return None
        v = self.attrs[A_ERROR]
        return (v[2] & 7) * 100 + v[3]

    @property
    def reason(self):
        return self.attrs[A_ERROR][4:].decode(errors="replace").rstrip("\0") if A_ERROR in self.attrs else ""

    def text(self, kind):
        return self.attrs[kind].decode() if kind in self.attrs else None

    def address(self, kind):
        return parse_xor_address(self.attrs[kind]) if kind in self.attrs else None

    def integrity_ok(self, key):
        """MESSAGE-INTEGRITY of the answer checks out under key (RFC 8489 §14.5)."""
        i = 20
        while i + 4 <= len(self.raw):
            kind, n = struct.unpack("!HH", self.raw[i:i + 4])
            if kind == A_INTEGRITY:
                header = struct.pack("!HHI12s", struct.unpack("!H", self.raw[:2])[0], i - 20 + 24, MAGIC, self.txid)
                mac = hmac.new(key, header + self.raw[20:i], hashlib.sha1).digest()
                return hmac.compare_digest(mac, self.raw[i + 4:i + 24])
            i += 4 + n + (-n % 4)
        return False

    def __repr__(self):
        return f"<STUN method={self.method:#x} class={self.cls:#x} code={self.code} {self.reason!r}>"


class StunConnection:
    """One client transport address talking to the server: UDP with
    retransmission, or TCP/TLS with RFC 8489 §6.2.2 framing."""

    def __init__(self, host, port, transport="udp", local_ip="127.0.0.1"):
        self.transport = transport
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local_ip, 0))
            self.sock.connect((host, port))
        else:
            raw = socket.create_connection((host, port), timeout=5, source_address=(local_ip, 0))
            if transport == "tls":
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                raw = context.wrap_socket(raw)
            self.sock = raw
        self.sock.settimeout(1.0)
        self.pending = b""

    def local(self):
        return self.sock.getsockname()

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if self.transport == "udp":
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def _receive_one(self, deadline):
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            if self.transport == "udp":
                try:
                    return self.sock.recv(65536)
                except socket.timeout:
                    raise TimeoutError from None
            while True:
                if len(self.pending) >= 4:
                    first = self.pending[0]
                    if first & 0xC0 == 0x40:  # ChannelData: padded to 4 over streams (RFC 8656 §12.5)
                        n = struct.unpack("!H", self.pending[2:4])[0]
                        need_bytes = 4 + n + (-n % 4)
                    elif len(self.pending) >= 20:
                        need_bytes = 20 + struct.unpack("!H", self.pending[2:4])[0]
                    else:
                        need_bytes = 20
                    if len(self.pending) >= need_bytes:
                        frame, self.pending = self.pending[:need_bytes], self.pending[need_bytes:]
                        return frame
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    raise TimeoutError from None
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.pending += chunk

    def receive(self, timeout=2.0, txid=None):
        """The next STUN message (the one answering txid if given), skipping anything else."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._receive_one(deadline)
            if len(frame) < 20 or frame[0] & 0xC0:
                continue
            answer = Answer(frame)
            if txid is None or answer.txid == txid:
                return answer

    def transact(self, method, attrs=(), key=None, timeout=3.0):
        data, txid = encode(method, REQUEST, attrs, key=key)
        tries = 4 if self.transport == "udp" else 1
        per_try = timeout / tries
        for _ in range(tries):
            self.send_raw(data)
            try:
                return self.receive(per_try, txid)
            except TimeoutError:
                continue
        raise TimeoutError(f"no answer to method {method:#x} within {timeout} s")


class TurnSession:
    """The long-term credential dance (RFC 8489 §9.2) on one connection."""

    def __init__(self, conn, username, password):
        self.conn = conn
        self.username = username
        self.password = password
        self.realm = None
        self.nonce = None
        self.key = None

    def _authed(self, attrs):
        return [(A_USERNAME, self.username.encode()), (A_REALM, self.realm.encode()),
                (A_NONCE, self.nonce.encode())] + list(attrs)

    def challenge(self, method=ALLOCATE, attrs=((A_TRANSPORT, bytes([17, 0, 0, 0])),)):
        """Sends the request without credentials; learns realm and nonce from the 401."""
        answer = self.conn.transact(method, attrs)
        assert answer.code == 401, answer
        self.realm = answer.text(A_REALM)
        self.nonce = answer.text(A_NONCE)
        assert self.realm and self.nonce, "a 401 carries REALM and NONCE (RFC 8489 §9.2.4)"
        self.key = long_term_key(self.username, self.realm, self.password)
        return answer

    def request(self, method, attrs=(), key=None, retry_stale=True, timeout=3.0):
        answer = self.conn.transact(method, self._authed(attrs), key=key or self.key, timeout=timeout)
        if answer.code == 438 and retry_stale:
            self.nonce = answer.text(A_NONCE)
            answer = self.conn.transact(method, self._authed(attrs), key=key or self.key, timeout=timeout)
        return answer

    def allocate(self, lifetime=None):
        if self.nonce is None:
            self.challenge()
        attrs = [(A_TRANSPORT, bytes([17, 0, 0, 0]))]
        if lifetime is not None:
            attrs.append((A_LIFETIME, struct.pack("!I", lifetime)))
        return self.request(ALLOCATE, attrs)

    def permit(self, ip, port=0):
        return self.request(CREATE_PERMISSION, [(A_PEER, xor_address(ip, port))])

    def refresh(self, lifetime):
        return self.request(REFRESH, [(A_LIFETIME, struct.pack("!I", lifetime))])


# ---------------------------------------------------------------------------------------------------------------
# The servers under test.

class Target:
    """What a test needs of the TURN server under test."""
    kind = "?"
    host = "127.0.0.1"
    realm = REALM
    udp = tcp = tls = None
    ucedge = None

    def describe(self):
        return ""


class UcedgeTarget(Target):
    kind = "ucedge"

    def __init__(self, u):
        self.ucedge = u
        self.udp = u.port("turn_udp")
        self.tcp = u.port("turn_tcp")
        self.tls = u.port("turn_tls")

    def describe(self):
        return "\n--- ucedge output\n" + self.ucedge.output()[-4000:] + "\n--- ucedge log\n" + self.ucedge.log()[-8000:]


class CoturnTarget(Target):
    kind = "coturn"

    def __init__(self, workdir, allow_loopback, rest, extra_args):
        self.workdir = pathlib.Path(workdir)
        self.udp = self.tcp = free_udp_tcp_port()
        self.tls = free_port(socket.SOCK_STREAM)
        cert, key = self.workdir / "coturn-cert.pem", self.workdir / "coturn-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=localhost", "-days", "2", "-keyout", key, "-out", cert], check=True,
                       capture_output=True, timeout=30)
        args = ["turnserver", "-n", "--listening-ip", "127.0.0.1", "--listening-port", self.udp,
                "--tls-listening-port", self.tls, "--cert", cert, "--pkey", key, "--relay-ip", "127.0.0.1",
                "--min-port", RELAY_PORTS[0], "--max-port", RELAY_PORTS[1], "--realm", REALM, "--lt-cred-mech",
                "--no-cli", "--no-dtls", "--no-rfc5780", "--db", self.workdir / "turndb", "--log-file", "stdout",
                "--simple-log", "--pidfile", self.workdir / "turnserver.pid"]
        if rest:  # coturn answers either REST API or static users, not both
            args += ["--use-auth-secret", "--static-auth-secret", SECRET]
        else:
            for user, password in USERS.items():
                args += ["--user", f"{user}:{password}"]
        if allow_loopback:
            args.append("--allow-loopback-peers")
        args += list(extra_args)
        self.log_file = self.workdir / "coturn.log"
        self.proc = subprocess.Popen([str(a) for a in args], stdout=open(self.log_file, "ab"),
                                     stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("turnserver exited:\n" + self.log_file.read_text(errors="replace"))
            try:
                c = StunConnection(self.host, self.udp)
                c.transact(BINDING, timeout=0.4)
                c.close()
                socket.create_connection((self.host, self.tcp), timeout=1).close()
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def describe(self):
        return "\n--- coturn log\n" + self.log_file.read_text(errors="replace")[-8000:]


@pytest.fixture
def turn_server(start_ucedge, tmp_path):
    """Factory: turn_server(allow_loopback=True, rest=False, turn_extra="", coturn_args=()) -> Target.

    ucedge gets the users in USERS (created with `ucedge turn user add` before
    it starts), the shared secrets SECRET and OLD_SECRET (`ucedge turn secret
    add`) and, with allow_loopback, allow_peers = ["127.0.0.1/32"] (the
    default policy refuses loopback peers). coturn gets either the users or,
    with rest=True, the shared secret."""
    coturns = []

    def start(allow_loopback=True, rest=False, turn_extra="", coturn_args=(), before_start=None):
        if TARGET == "coturn":
            need("turnserver")
            workdir = tmp_path / f"coturn{len(coturns)}"
            workdir.mkdir()
            target = CoturnTarget(workdir, allow_loopback, rest, coturn_args)
            coturns.append(target)
            return target
        extra = f'realm = "{REALM}"\n' + turn_extra
        if "user_quota" not in turn_extra:  # uclient runs many sessions as one user
            extra += "user_quota = 1000\n"
        if allow_loopback:
            extra += 'allow_peers = ["127.0.0.1/32"]\n'

        def add_credentials(u):
            for user, password in USERS.items():
                r = u.cli("turn", "user", "add", user, "--password", password, "--realm", REALM)
                assert r.returncode == 0, f"turn user add {user}: {r.stdout}{r.stderr}"
            for secret in (OLD_SECRET, SECRET):
                r = u.cli("turn", "secret", "add", secret)
                assert r.returncode == 0, f"turn secret add: {r.stdout}{r.stderr}"
            if before_start:
                before_start(u)

        return UcedgeTarget(start_ucedge(turn_extra=extra, before_start=add_credentials))

    yield start
    for c in coturns:
        c.stop()


@pytest.fixture
def peer():
    """turnutils_peer, coturn's UDP echo peer, on a free loopback port; yields the port."""
    need("turnutils_peer")
    port = free_port()
    proc = subprocess.Popen(["turnutils_peer", "-L", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        for _ in range(100):
            s.sendto(b"ping", ("127.0.0.1", port))
            try:
                if s.recv(16) == b"ping":
                    break
            except OSError:
                time.sleep(0.05)
        else:
            proc.kill()
            pytest.fail("turnutils_peer does not echo")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------------------------
# turnutils_uclient

class UclientResult:
    def __init__(self, returncode, output):
        self.returncode = returncode
        self.output = output
        sent = re.findall(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", output, re.M)
        self.sent, self.received = (int(sent[-1][0]), int(sent[-1][1])) if sent else (None, None)
        lost = re.search(r"Total lost packets (\d+) \(([\d.]+)%\)", output)
        self.lost, self.loss_percent = (int(lost.group(1)), float(lost.group(2))) if lost else (None, None)
        self.errors = re.findall(r"error (\d{3})", output)


def uclient(target, peer_port, transport="udp", sessions=5, messages=50, length=120, interval_ms=20,
            indications=False, username=None, password=None, secret=None, rtcp=False, extra=(), timeout=90):
    """turnutils_uclient through the relay to turnutils_peer; without rtcp (-c) one allocation per
    session, with it an RTP/RTCP pair of allocations."""
    need("turnutils_uclient")
    args = ["turnutils_uclient", "-v"] + ([] if rtcp else ["-c"])
    args += ["-e", "127.0.0.1", "-r", peer_port, "-m", sessions, "-n", messages, "-l", length, "-z", interval_ms]
    if transport == "tcp":
        args += ["-t", "-p", target.tcp]
    elif transport == "tls":
        args += ["-t", "-S", "-p", target.tls]
    else:
        args += ["-p", target.udp]
    if indications:
        args.append("-s")
    if username is not None:
        args += ["-u", username]
    if password is not None:
        args += ["-w", password]
    if secret is not None:
        args += ["-W", secret]
    args += list(extra) + [target.host]
    try:
        r = subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        return UclientResult(r.returncode, out)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        return UclientResult(-1, out + f"\n(timed out after {timeout} s)")


def assert_lossless(result, target, expected):
    tail = "\n".join(result.output.splitlines()[-30:])
    assert result.returncode == 0, f"uclient exited {result.returncode}:\n{tail}{target.describe()}"
    assert result.sent == expected, f"sent {result.sent} of {expected}:\n{tail}"
    assert result.received == expected, f"received {result.received} of {expected}:\n{tail}{target.describe()}"
    assert result.lost == 0 and result.loss_percent == 0.0, tail


# ---------------------------------------------------------------------------------------------------------------
# STUN Binding

def test_stunclient_gets_its_mapped_address_over_udp(turn_server):
    need("turnutils_stunclient")
    t = turn_server()
    r = run(["turnutils_stunclient", "-p", t.udp, t.host], timeout=30)
    found = re.findall(r"UDP reflexive addr: (\d+\.\d+\.\d+\.\d+):(\d+)", r.stdout + r.stderr)
    assert r.returncode == 0 and found, r.stdout + r.stderr + t.describe()
    ip, port = found[0]
    assert ip == "127.0.0.1" and 1024 <= int(port) <= 65535


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_binding_answers_the_exact_source_address(turn_server, transport):
    t = turn_server()
    conn = StunConnection(t.host, getattr(t, transport), transport)
    try:
        answer = conn.transact(BINDING)
        assert answer.cls == SUCCESS, answer
        assert answer.address(A_XOR_MAPPED) == conn.local()[:2]
        assert A_FINGERPRINT in answer.attrs or t.kind == "coturn"
    finally:
        conn.close()


@ucedge_only
def test_unknown_comprehension_required_attribute_is_420(turn_server):
    t = turn_server()
    conn = StunConnection(t.host, t.udp)
    try:
        answer = conn.transact(BINDING, [(0x0033, b"\1\2\3\4")])  # 0x0000-0x7FFF: comprehension-required
        assert answer.code == 420, answer
        assert answer.attrs[A_UNKNOWN][:2] == b"\x00\x33"
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------------------
# Relaying with turnutils_uclient and turnutils_peer

@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("indications", [False, True], ids=["channels", "send-indications"])
def test_uclient_relays_without_loss_with_long_term_credentials(turn_server, peer, transport, indications):
    t = turn_server()
    r = uclient(t, peer, transport, sessions=10, messages=100, length=160, interval_ms=5, indications=indications,
                username="alice", password=USERS["alice"])
    assert_lossless(r, t, 10 * 100)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_uclient_relays_with_rest_api_credentials(turn_server, peer, transport):
    t = turn_server(rest=True)
    r = uclient(t, peer, transport, sessions=5, messages=50, interval_ms=10, username="carol", secret=SECRET)
    assert_lossless(r, t, 5 * 50)


def test_uclient_with_credentials_computed_here(turn_server, peer):
    """The REST API password as a web application computes it, passed as plain -u/-w."""
    t = turn_server(rest=True)
    username, password = rest_credentials(SECRET, "dave")
    r = uclient(t, peer, "udp", sessions=2, messages=50, username=username, password=password, indications=True)
    assert_lossless(r, t, 2 * 50)


@ucedge_only
def test_credentials_printed_by_the_cli_relay(turn_server, peer):
    """What an operator hands to a web application: `ucedge turn credentials USER --json`."""
    t = turn_server()
    r = t.ucedge.cli("turn", "credentials", "grace", "--ttl", "1h", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    made = json.loads(r.stdout)
    assert made["username"].endswith(":grace") and int(made["username"].split(":")[0]) > time.time() + 3000
    r = uclient(t, peer, "udp", sessions=2, messages=20, username=made["username"], password=made["password"])
    assert_lossless(r, t, 2 * 20)


@ucedge_only
def test_a_rotated_out_secret_still_signs_while_configured(turn_server, peer):
    t = turn_server()
    r = uclient(t, peer, "udp", sessions=2, messages=20, username="erin", secret=OLD_SECRET)
    assert_lossless(r, t, 2 * 20)


def test_uclient_rtp_rtcp_pairs_get_adjacent_even_odd_relay_ports(turn_server, peer):
    """Without -c uclient allocates an RTP/RTCP pair per client: EVEN-PORT with the reservation bit,
    then RESERVATION-TOKEN for the next port (RFC 8656 §7.2, §14.6, §14.9)."""
    t = turn_server()
    r = uclient(t, peer, "udp", sessions=4, messages=20, username="alice", password=USERS["alice"], rtcp=True)
    assert_lossless(r, t, 4 * 20)
    ports = {int(p) for p in re.findall(r"Received relay addr: 127\.0\.0\.1:(\d+)", r.output)}
    pairs = [p for p in ports if p % 2 == 0 and p + 1 in ports]
    assert len(pairs) >= 2, sorted(ports)
    assert all(in_relay_window(p) for p in ports), (sorted(ports), RELAY_PORTS)


def test_uclient_over_tls(turn_server, peer):
    t = turn_server()
    r = uclient(t, peer, "tls", sessions=4, messages=50, interval_ms=10, username="bob", password=USERS["bob"])
    assert_lossless(r, t, 4 * 50)


def test_uclient_requesting_an_ipv4_relay_explicitly(turn_server, peer):
    t = turn_server()
    r = uclient(t, peer, "udp", sessions=2, messages=20, username="alice", password=USERS["alice"], extra=["-X"])
    assert_lossless(r, t, 2 * 20)


def test_wrong_password_gets_no_relay(turn_server, peer):
    # uclient tries some 30 times; keep them all answered (the rate limit has its own test).
    t = turn_server(turn_extra="auth_failures_per_minute = 1000\n")
    r = uclient(t, peer, "udp", sessions=1, messages=5, username="alice", password="wrong", timeout=60)
    assert r.returncode != 0 and "Cannot complete Allocation" in r.output, r.output[-2000:]
    assert not r.received


@pytest.mark.parametrize("indications", [False, True], ids=["channel-bind", "create-permission"])
def test_loopback_peer_is_refused_by_default(turn_server, peer, indications):
    t = turn_server(allow_loopback=False)
    r = uclient(t, peer, "udp", sessions=1, messages=5, username="alice", password=USERS["alice"],
                indications=indications, timeout=60)
    assert r.returncode != 0, r.output[-2000:]
    assert "403" in r.errors, r.output[-3000:]
    assert not r.received


# ---------------------------------------------------------------------------------------------------------------
# The answers themselves

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_allocate_challenge_and_success(turn_server, transport):
    t = turn_server()
    conn = StunConnection(t.host, getattr(t, transport), transport)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        challenge = s.challenge()
        assert s.realm == REALM
        assert A_INTEGRITY not in challenge.attrs
        answer = s.allocate(lifetime=300)
        assert answer.cls == SUCCESS, answer
        assert answer.integrity_ok(s.key), "the success answer is signed with the user's key"
        relayed_ip, relayed_port = answer.address(A_RELAYED)
        assert relayed_ip == "127.0.0.1" and in_relay_window(relayed_port), (relayed_ip, relayed_port, RELAY_PORTS)
        assert answer.address(A_XOR_MAPPED) == conn.local()[:2]
        assert 0 < struct.unpack("!I", answer.attrs[A_LIFETIME])[0] <= 3600
        # A second Allocate on the same 5-tuple with another transaction is a mismatch (RFC 8656 §7.2).
        again = s.allocate()
        assert again.code == 437, again
        # Refresh with lifetime 0 deletes it; after that the allocation is gone (RFC 8656 §7.3; coturn
        # lets a later Refresh bring it back).
        assert s.refresh(0).cls == SUCCESS
        if t.kind == "ucedge":
            gone = s.refresh(600)
            assert gone.code == 437, gone
    finally:
        conn.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_channel_bind_then_channel_data_both_ways(turn_server, peer, transport):
    t = turn_server()
    conn = StunConnection(t.host, getattr(t, transport), transport)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        assert s.allocate().cls == SUCCESS
        bound = s.request(CHANNEL_BIND, [(A_CHANNEL, struct.pack("!HH", 0x4001, 0)),
                                         (A_PEER, xor_address("127.0.0.1", peer))])
        assert bound.cls == SUCCESS, bound
        for size in (1, 3, 100, 1200):
            payload = os.urandom(size)
            # ChannelData (RFC 8656 §12.4): over TCP padded to a multiple of 4.
            frame = struct.pack("!HH", 0x4001, size) + payload
            if transport != "udp":
                frame += b"\0" * (-size % 4)
            conn.send_raw(frame)
            deadline = time.monotonic() + 3
            while True:
                echoed = conn._receive_one(deadline)
                if echoed[:2] == b"\x40\x01":
                    break
            n = struct.unpack("!H", echoed[2:4])[0]
            assert n == size and echoed[4:4 + n] == payload
    finally:
        conn.close()


@pytest.mark.parametrize("password,user", [("wrong", "alice"), ("anything", "nobody")])
def test_bad_credentials_are_401_with_a_fresh_nonce(turn_server, password, user):
    t = turn_server()
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, user, password)
        s.challenge()
        answer = s.allocate()
        assert answer.code == 401, answer
        assert answer.text(A_REALM) == REALM and answer.text(A_NONCE)
        assert A_INTEGRITY not in answer.attrs, "no key to sign with"
    finally:
        conn.close()


@ucedge_only
def test_failed_authentications_are_rate_limited(turn_server):
    """Past auth_failures_per_minute bad attempts from one client, the server stops answering: a
    password guesser or a reflection attacker gets nothing back."""
    t = turn_server(turn_extra="auth_failures_per_minute = 5\n")
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", "guess")
        s.challenge()
        # Failures are counted per clock minute: start early enough in one to stay within it.
        if time.time() % 60 > 48:
            time.sleep(60.5 - time.time() % 60)
        answers = []
        for _ in range(9):
            try:
                answers.append(s.request(ALLOCATE, [(A_TRANSPORT, bytes([17, 0, 0, 0]))], retry_stale=False,
                                         timeout=1.0).code)
            except TimeoutError:
                answers.append(None)
        assert answers[:4] == [401] * 4, answers
        assert answers[-3:] == [None] * 3, answers
    finally:
        conn.close()


@ucedge_only
def test_integrity_failure_is_431_in_expressway_mode(turn_server):
    t = turn_server(turn_extra="integrity_failure_431 = true\n")
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", "wrong")
        s.challenge()
        answer = s.allocate()
        assert answer.code == 431, answer
        # An unknown user is still a plain 401: there is no key to fail integrity against.
        s2 = TurnSession(conn, "nobody", "x")
        s2.challenge()
        assert s2.allocate().code == 401
        # And the right password still works.
        s3 = TurnSession(conn, "alice", USERS["alice"])
        s3.challenge()
        assert s3.allocate().cls == SUCCESS
    finally:
        conn.close()


def test_expired_rest_username_is_refused(turn_server):
    t = turn_server(rest=True)
    username, password = rest_credentials(SECRET, "frank", valid_for=-60)
    conn, conn2 = StunConnection(t.host, t.udp), StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, username, password)
        s.challenge()
        assert s.allocate().code == 401
        username, password = rest_credentials(SECRET, "frank", valid_for=600)
        assert TurnSession(conn2, username, password).allocate().cls == SUCCESS
    finally:
        conn.close()
        conn2.close()


@ucedge_only
def test_stale_nonce_is_438_then_the_new_nonce_works(turn_server):
    """nonce_lifetime is at least 10 s: this test waits that long, as a client would."""
    t = turn_server(turn_extra='nonce_lifetime = "10s"\n')
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        s.challenge()
        old_nonce = s.nonce
        time.sleep(11)
        answer = s.request(ALLOCATE, [(A_TRANSPORT, bytes([17, 0, 0, 0]))], retry_stale=False)
        assert answer.code == 438, answer
        assert answer.text(A_NONCE) and answer.text(A_NONCE) != old_nonce
        s.nonce = answer.text(A_NONCE)
        assert s.request(ALLOCATE, [(A_TRANSPORT, bytes([17, 0, 0, 0]))], retry_stale=False).cls == SUCCESS
    finally:
        conn.close()


@ucedge_only
def test_a_nonce_from_another_client_address_is_not_accepted(turn_server):
    t = turn_server()
    a, b = StunConnection(t.host, t.udp), StunConnection(t.host, t.udp, local_ip="127.0.0.2")
    try:
        s = TurnSession(a, "alice", USERS["alice"])
        s.challenge()
        s.conn = b  # same credentials and nonce, another source port
        answer = s.request(ALLOCATE, [(A_TRANSPORT, bytes([17, 0, 0, 0]))], retry_stale=False)
        assert answer.code in (401, 438), answer
    finally:
        a.close()
        b.close()


@ucedge_only
@pytest.mark.parametrize("peer_ip", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",
                                     "169.254.169.254", "0.0.0.0", "224.0.0.1", "255.255.255.255"])
def test_default_policy_refuses_internal_peers(turn_server, peer_ip):
    """CreatePermission only: nothing is ever sent to these addresses."""
    t = turn_server(allow_loopback=False)
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        assert s.allocate().cls == SUCCESS
        answer = s.permit(peer_ip)
        assert answer.code == 403, answer
    finally:
        conn.close()


@ucedge_only
def test_allow_peers_opens_loopback_only(turn_server):
    t = turn_server(allow_loopback=True)
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        assert s.allocate().cls == SUCCESS
        assert s.permit("127.0.0.1").cls == SUCCESS
        assert s.permit("127.0.0.2").code == 403
        assert s.permit("10.1.2.3").code == 403
    finally:
        conn.close()


@ucedge_only
def test_user_quota_is_486(turn_server):
    t = turn_server(turn_extra="user_quota = 2\n")
    conns = [StunConnection(t.host, t.udp) for _ in range(3)]
    try:
        answers = []
        for c in conns:
            s = TurnSession(c, "bob", USERS["bob"])
            answers.append(s.allocate())
        assert [a.cls for a in answers[:2]] == [SUCCESS, SUCCESS], answers
        assert answers[2].code == 486, answers
        # Another user is not counted against bob.
        other = StunConnection(t.host, t.udp)
        conns.append(other)
        assert TurnSession(other, "alice", USERS["alice"]).allocate().cls == SUCCESS
    finally:
        for c in conns:
            c.close()


@ucedge_only
def test_user_added_while_running_can_allocate(turn_server):
    t = turn_server()
    r = t.ucedge.cli("turn", "user", "add", "late", "--password", "arrived", "--realm", REALM)
    assert r.returncode == 0, r.stdout + r.stderr
    deadline = time.monotonic() + 10
    while True:
        conn = StunConnection(t.host, t.udp)
        try:
            answer = TurnSession(conn, "late", "arrived").allocate()
        finally:
            conn.close()
        if answer.cls == SUCCESS or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.cls == SUCCESS, answer


# ---------------------------------------------------------------------------------------------------------------
# What the operator sees while relaying

@ucedge_only
def test_live_allocations_in_the_admin_api_and_metrics(turn_server, peer):
    t = turn_server()
    conn = StunConnection(t.host, t.udp)
    try:
        s = TurnSession(conn, "alice", USERS["alice"])
        answer = s.allocate()
        assert answer.cls == SUCCESS, answer
        relayed = "%s:%d" % answer.address(A_RELAYED)
        assert s.permit("127.0.0.1").cls == SUCCESS
        for i in range(10):
            data, _ = encode(SEND, INDICATION, [(A_PEER, xor_address("127.0.0.1", peer)), (A_DATA, b"x" * 100)])
            conn.send_raw(data)
            # The peer echoes: a Data indication comes back through the relay.
            while True:
                ind = conn.receive(timeout=3)
                if ind.method == DATA_IND and ind.cls == INDICATION:
                    break
            assert ind.attrs[A_DATA] == b"x" * 100
            assert ind.address(A_PEER) == ("127.0.0.1", peer)

        r = requests.get(t.ucedge.url("http", "/api/v1/turn/allocations"), auth=t.ucedge.admin(), timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        allocations = body if isinstance(body, list) else body.get("allocations", [])
        mine = [a for a in allocations if a.get("relayed") == relayed]
        assert len(mine) == 1, body
        assert mine[0]["username"] == "alice"
        assert mine[0]["packetsToPeers"] >= 10 and mine[0]["packetsFromPeers"] >= 10, mine[0]
        assert mine[0]["bytesToPeers"] >= 1000 and mine[0]["bytesFromPeers"] >= 1000, mine[0]
        assert any(p["address"].startswith("127.0.0.1") for p in mine[0]["peers"]), mine[0]

        metrics = requests.get(t.ucedge.url("http", "/metrics"), timeout=10).text
        gauge = re.search(r"^ucedge_turn_allocations(\{[^}]*\})? (\d+(\.\d+)?)$", metrics, re.M)
        assert gauge and float(gauge.group(2)) >= 1, metrics[-3000:]
        assert "alice" not in metrics, "no per-user labels"
    finally:
        conn.close()


@ucedge_only
def test_turn_servers_status_probes_this_relay(turn_server):
    """The seed's turnServers object pointing at this very relay: /status runs a
    real Binding and Allocate against it and reports what it found."""
    t = turn_server()
    api = t.ucedge.url("http", "/api/v1/turnServers")
    auth = t.ucedge.admin()
    address = "%s:%d" % (t.host, t.udp)

    def status_of(**fields):
        r = requests.post(api, json={"serverAddress": address, "type": "standard", **fields}, auth=auth, timeout=10)
        assert r.status_code == 201, r.text
        assert "password" not in r.json() and "sharedSecret" not in r.json(), r.text
        s = requests.get(t.ucedge.url("http", r.headers["Location"] + "/status"), auth=auth, timeout=30)
        assert s.status_code == 200, s.text
        return s.json()["status"]

    good = status_of(username="alice", password=USERS["alice"])
    assert good["reachable"] is True, good
    assert good["allocation"] == "ok", good
    assert good["roundTripTimeMs"] >= 0
    assert good["relayedAddress"].startswith("127.0.0.1:"), good

    rest = status_of(useShortTermCredentials=True, sharedSecret=SECRET)
    assert rest["allocation"] == "ok", rest

    bad = status_of(username="alice", password="not-her-password")
    assert bad["reachable"] is True and bad["allocation"] == "unauthorized", bad

    # The probe released what it allocated.
    r = requests.get(t.ucedge.url("http", "/api/v1/turn/allocations"), auth=auth, timeout=10)
    assert r.json()["total"] == 0, r.text


# ---------------------------------------------------------------------------------------------------------------
# WebRTC in a real browser

class PageServer:
    """Serves tests/integration/data on loopback and collects the page's POST /result."""

    def __init__(self):
        results = self.results = queue.Queue()

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(DATA), **kwargs)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                results.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_webrtc_page(turn_url, username, credential, timeout_ms=20000, messages=20):
    need("chromium")
    server = PageServer()
    profile = tempfile.mkdtemp(prefix="ucedge-chromium-")
    query = urllib.parse.urlencode({"turn": turn_url, "username": username, "credential": credential,
                                    "timeout_ms": timeout_ms, "messages": messages})
    log = open(pathlib.Path(profile) / "chromium.log", "wb")
    proc = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
         f"http://127.0.0.1:{server.port}/webrtc_relay.html?{query}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return server.results.get(timeout=timeout_ms / 1000 + 30)
    except queue.Empty:
        pytest.fail("the page reported nothing; chromium said:\n" +
                    (pathlib.Path(profile) / "chromium.log").read_text(errors="replace")[-4000:])
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        server.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.parametrize("transport,credentials", [("udp", "long-term"), ("tcp", "rest-api")])
def test_chromium_data_channel_through_the_relay_only(turn_server, transport, credentials):
    t = turn_server(rest=credentials == "rest-api")
    port = t.udp if transport == "udp" else t.tcp
    if credentials == "rest-api":
        username, credential = rest_credentials(SECRET, "webrtc-user")
    else:
        username, credential = "alice", USERS["alice"]
    result = run_webrtc_page(f"turn:127.0.0.1:{port}?transport={transport}", username, credential)
    assert result.get("ok"), json.dumps(result, indent=1) + t.describe()
    for pair in (result["pair1"], result["pair2"]):
        assert pair["local"]["type"] == "relay" and pair["remote"]["type"] == "relay", pair
        assert pair["local"]["relayProtocol"] == transport, pair
        assert pair["local"]["address"] == "127.0.0.1" and in_relay_window(pair["local"]["port"]), pair
    assert result["received"] == {"pc1": 20, "pc2": 20}


def test_chromium_with_a_wrong_credential_gets_no_relay(turn_server):
    t = turn_server()
    result = run_webrtc_page(f"turn:127.0.0.1:{t.udp}?transport=udp", "alice", "not the password", timeout_ms=6000)
    assert not result.get("ok"), result
    assert not result["candidates"]["pc1"] and not result["candidates"]["pc2"], result
    assert any(" 401 " in e for e in result["errors"]), result
