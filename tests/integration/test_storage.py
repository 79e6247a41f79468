"""Storage as an operator meets it: the daemon on PostgreSQL, /readyz that
follows the database, and nothing acknowledged lost to a kill."""
import json
import os
import signal
import subprocess
import time

from conftest import run
from postgres import postgres  # noqa: F401  (fixture)


def readyz(u):
    r = run(["curl", "-sS", "-o", "/dev/stderr", "-w", "%{http_code}", u.url("http", "/readyz")])
    return int(r.stdout or 0), r.stderr


def wait_for_status(u, status, timeout=15):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = readyz(u)
        if last[0] == status:
            return last
        time.sleep(0.2)
    raise AssertionError(f"/readyz stayed {last}, wanted {status}")


def test_postgres_backend_serves_and_readyz_follows_the_database(start_ucedge, postgres):
    u = start_ucedge(extra=f'\n[store]\nbackend = "postgres"\npostgres_url = "{postgres.url()}"\n')
    assert readyz(u)[0] == 200
    assert "Administrator account created" in u.output()
    rows = subprocess.run(["psql", postgres.url(), "-Atc", "SELECT username FROM admin_accounts"],
                          capture_output=True, text=True)
    assert rows.stdout.split() == ["admin"], rows.stderr

    postgres.stop()
    status, body = wait_for_status(u, 503)
    problem = json.loads(body)
    assert problem["status"] == 503 and "storage" in problem["detail"]
    assert run(["curl", "-fsS", u.url("http", "/healthz")]).returncode == 0  # alive, not ready

    postgres.start()
    wait_for_status(u, 200)


def test_database_url_can_come_from_the_environment(tmp_path, postgres):
    from conftest import Ucedge, make_config
    u = Ucedge(tmp_path, make_config(tmp_path, extra='\n[store]\nbackend = "postgres"\n'))
    os.environ["UCEDGE_STORE_POSTGRES_URL"] = postgres.url()
    try:
        u.start()
    finally:
        del os.environ["UCEDGE_STORE_POSTGRES_URL"]
    try:
        assert readyz(u)[0] == 200
    finally:
        assert u.stop() == 0


def test_sigkill_after_first_start_loses_nothing(start_ucedge):
    u = start_ucedge()
    password = u.output().split('password "', 1)[1].split('"', 1)[0]
    u.proc.send_signal(signal.SIGKILL)
    u.proc.wait()
    # What the operator was told exists: the account and the password file.
    db = u.data_dir / "ucedge.db"
    r = run(["sqlite3", db, "SELECT username, substr(password_hash, 1, 10) FROM admin_accounts"])
    assert r.stdout.strip() == "admin|$argon2id$", r.stderr
    assert (u.data_dir / "initial-admin-password").read_text().strip() == password
    u.start()
    assert u.output().count("Administrator account created") == 1
