"""Integration harness: starts the real `ucedge` binary on loopback ephemeral
ports with a temporary data directory, waits for /readyz, and stops it with
SIGTERM at the end of the test (asserting a clean exit)."""
import json
import os
import pathlib
import random
import signal
import subprocess
import time
import urllib.request

import pytest

BINARY = os.environ.get("UCEDGE_BIN", str(pathlib.Path(__file__).resolve().parents[2] / "build/dev/cmd/ucedge/ucedge"))

BASE_CONFIG = """
[server]
data_dir = "{data_dir}"
threads = 2
shutdown_timeout = "5s"

[log]
level = "debug"
format = "json"
file = "{log_file}"

[http]
listen = "127.0.0.1:0"
listen_tls = "127.0.0.1:0"
listen_client_cert = "127.0.0.1:0"
{http_extra}

[tls.interface.https_client_cert]
client_auth = "required"
{client_cert_extra}

[prov]
{prov_extra}

[prov.tftp]
listen = "127.0.0.1:0"
{tftp_extra}

[prov.syslog]
listen = "127.0.0.1:0"

[prov.sip]
listen = "127.0.0.1:0"
{sip_extra}

[turn]
listen_udp = "127.0.0.1:0"
listen_tcp = "127.0.0.1:0"
listen_tls = "127.0.0.1:0"
relay_ports = "{relay_ports}"
{turn_extra}
"""


def _relay_port_window(size=1000):
    """A random window of relay ports for this test run, below the kernel's
    ephemeral range so that clients' source ports never land in it; test files
    run in parallel, each with its own window."""
    try:
        low = int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    start = random.randrange(10000, max(10001, low - size))
    return start, start + size - 1


RELAY_PORTS = _relay_port_window()


class Ucedge:
    """One running ucedge process and what a test needs to reach it."""

    def __init__(self, workdir: pathlib.Path, config_text: str):
        self.workdir = workdir
        self.data_dir = workdir / "var"
        self.log_file = workdir / "ucedge.log"
        self.config_file = workdir / "ucedge.toml"
        self.config_file.write_text(config_text)
        self.stdout_file = workdir / "stdout.txt"
        self.proc = None
        self.listeners = {}

    def start(self, timeout=30.0):
        listening = self.data_dir / "listening.json"
        if listening.exists():
            listening.unlink()
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--config", str(self.config_file)],
            stdout=open(self.stdout_file, "ab"), stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ucedge exited with {self.proc.returncode}:\n{self.output()}\n{self.log()}")
            if listening.exists():
                self.listeners = json.loads(listening.read_text())["listeners"]
                try:
                    with urllib.request.urlopen(self.url("http", "/readyz"), timeout=2) as r:
                        if r.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"ucedge did not become ready:\n{self.output()}\n{self.log()}")

    def port(self, listener):
        return self.listeners[listener]["port"]

    def url(self, listener, path=""):
        return self.listeners[listener]["url"] + path

    def cli(self, *args, timeout=30):
        """Runs `ucedge --config <this config> ARGS...` (for example `turn user add`)."""
        return run([BINARY, "--config", self.config_file, *args], timeout=timeout, cwd=self.workdir)

    def admin(self):
        """The first administrator's (user, password), as printed once at first start."""
        return ("admin", (self.data_dir / "initial-admin-password").read_text().strip())

    def output(self):
        return self.stdout_file.read_text(errors="replace") if self.stdout_file.exists() else ""

    def log(self):
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def signal(self, signo):
        self.proc.send_signal(signo)

    def stop(self, timeout=15.0):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def make_config(workdir, http_extra="", client_cert_extra="", prov_extra="", tftp_extra="", sip_extra="",
                turn_extra="", extra=""):
    return BASE_CONFIG.format(data_dir=workdir / "var", log_file=workdir / "ucedge.log",
                              http_extra=http_extra, client_cert_extra=client_cert_extra, prov_extra=prov_extra,
                              tftp_extra=tftp_extra, sip_extra=sip_extra, turn_extra=turn_extra,
                              relay_ports="%d-%d" % RELAY_PORTS) + extra


@pytest.fixture
def start_ucedge(tmp_path):
    """Factory: start_ucedge(http_extra=..., client_cert_extra=..., prov_extra=..., tftp_extra=...,
    sip_extra=..., turn_extra=..., extra=..., before_start=None) -> Ucedge. before_start(u) runs
    once the configuration is written and before the server starts (to add TURN users with the CLI)."""
    started = []

    def start(before_start=None, **kwargs):
        u = Ucedge(tmp_path, make_config(tmp_path, **kwargs))
        started.append(u)
        if before_start is not None:
            before_start(u)
        return u.start()

    yield start
    for u in started:
        code = u.stop()
        assert code == 0, f"ucedge exited with {code}:\n{u.output()}"


@pytest.fixture
def ucedge(start_ucedge):
    return start_ucedge()


def run(cmd, **kwargs):
    """Runs a command line; stdout and stderr are text exactly as printed
    (no newline translation, so HTTP's CRLF stays visible)."""
    kwargs.setdefault("timeout", 30)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, **kwargs)
    r.stdout = r.stdout.decode(errors="replace")
    r.stderr = r.stderr.decode(errors="replace")
    return r
