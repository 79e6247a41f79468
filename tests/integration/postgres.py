"""A throwaway PostgreSQL server for integration tests (Debian's
postgresql-15), run as the `postgres` user since initdb refuses root.

Where it cannot start, tests skip with the reason, except in CI (CI=true or
UCEDGE_REQUIRE_POSTGRES=1), where that is a failure."""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("UCEDGE_POSTGRES_BIN", "/usr/lib/postgresql/15/bin")


def required():
    return os.environ.get("CI") == "true" or os.environ.get("UCEDGE_REQUIRE_POSTGRES") == "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ucedge-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        return subprocess.run(self.as_user + list(args), capture_output=True, text=True, timeout=120)

    def init(self):
        r = self._run(f"{BIN}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr)
        return self

    def start(self):
        r = self._run(f"{BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                      f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stderr + r.stdout)
        return self

    def stop(self):
        self._run(f"{BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres():
    pg = Postgres()
    try:
        pg.init().start()
    except (RuntimeError, FileNotFoundError, KeyError, subprocess.TimeoutExpired) as e:
        pg.destroy()
        if required():
            pytest.fail(f"PostgreSQL is required here but did not start: {e}")
        pytest.skip(f"PostgreSQL did not start: {e}")
    yield pg
    pg.destroy()
