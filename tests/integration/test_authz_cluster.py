"""Two ucedge nodes sharing one PostgreSQL database: they sign with the same
keys, a token from one is accepted by the other, a revocation on one reaches
the other at once (LISTEN/NOTIFY), and the key view flags a node whose keys
differ."""
import secrets
import subprocess
import time

import pytest
import requests

from conftest import Ucedge, make_config
from postgres import postgres  # noqa: F401  (fixture)


@pytest.fixture
def cluster(tmp_path, postgres, monkeypatch):  # noqa: F811
    # Every node of a cluster holds the same master key.
    monkeypatch.setenv("UCEDGE_MASTER_KEY", secrets.token_hex(32))
    extra = f'\n[store]\nbackend = "postgres"\npostgres_url = "{postgres.url()}"\n'
    nodes = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        nodes.append(Ucedge(workdir, make_config(workdir, extra=extra)))
    nodes[0].start()
    r = nodes[0].cli("authz", "client", "add", "rs", "--confidential", "--grant", "client_credentials",
                     "--redirect-uri", "https://rs.example/cb")
    assert r.returncode == 0, r.stderr
    secret = next(w for w in r.stdout.split() if len(w) == 43)
    nodes[1].start()
    yield nodes, secret, postgres
    for n in nodes:
        assert n.stop() == 0, n.output()


def token(node, secret):
    r = requests.post(node.url("http", "/oauth2/token"), data={"grant_type": "client_credentials"},
                      auth=("rs", secret), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def active(node, secret, access_token):
    r = requests.post(node.url("http", "/oauth2/introspect"), data={"token": access_token}, auth=("rs", secret),
                      timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["active"]


def test_nodes_sign_alike_and_revocation_reaches_every_node(cluster):
    (a, b), secret, _ = cluster
    jwks_a = requests.get(a.url("http", "/oauth2/jwks"), timeout=10).json()
    jwks_b = requests.get(b.url("http", "/oauth2/jwks"), timeout=10).json()
    assert jwks_a == jwks_b

    t = token(a, secret)
    assert active(b, secret, t)
    r = requests.post(b.url("http", "/oauth2/revoke"), data={"token": t}, auth=("rs", secret), timeout=10)
    assert r.status_code == 200
    # NOTIFY carries it: well inside the one-second poll both nodes also run.
    deadline = time.monotonic() + 0.5
    while active(a, secret, t):
        assert time.monotonic() < deadline, "node a still accepts a token revoked on node b"
        time.sleep(0.02)


def test_key_view_shows_both_nodes_and_flags_a_mismatch(cluster):
    (a, b), _, pg = cluster
    admin = a.admin()
    view = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        view = requests.get(a.url("http", "/api/v1/authz/keys"), auth=a.admin(), timeout=10).json()
        if len(view["nodes"]) == 2:
            break
        time.sleep(0.1)
    assert len(view["nodes"]) == 2, view
    assert view["mismatch"] is False and all(n["matches"] for n in view["nodes"])

    # A node that holds keys the others do not (it missed a change, or cannot
    # unseal them) is flagged, as the seed tells operators to check. Node a
    # stops first, so that it does not write its true keys over the change.
    a_port = a.port("http")
    assert a.stop() == 0
    subprocess.run(["psql", pg.url(), "-Atc",
                    "UPDATE authz_node_keys SET signing_kid = 'x:" + "0" * 64 + "' WHERE node_id LIKE '%:"
                    + str(a_port) + "'"], check=True, capture_output=True)
    # The administrator was created by the first node, in the shared database.
    view = requests.get(b.url("http", "/api/v1/authz/keys"), auth=admin, timeout=10).json()
    assert view["mismatch"] is True
    assert sorted(n["matches"] for n in view["nodes"]) == [False, True]
