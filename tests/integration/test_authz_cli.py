"""`ucedge authz ...` as an operator types it, against a temporary data
directory: users (a UTF-8 password through --password-stdin), public and
confidential clients (a secret shown once and never listed), the keys shown
only as hashes and regenerated, refresh tokens listed with readable validity
and revoked, the purge, and clear refusals of bad input. What needs the
daemon's OAuth endpoints is tested elsewhere."""
import datetime
import hashlib
import json
import re
import sqlite3
import time

import pytest

from conftest import BINARY, Ucedge, make_config, run

UTF8_PASSWORD = "pässwörd€ with spaces "
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture
def node(tmp_path):
    """A configured node that is never started: the CLI works on its store."""
    return Ucedge(tmp_path, make_config(tmp_path))


def authz(node, *args, stdin=None):
    return run([BINARY, "--config", node.config_file, "authz", *args],
               input=stdin if stdin is None else stdin.encode("utf-8"), cwd=node.workdir)


def ok(node, *args, stdin=None):
    r = authz(node, *args, stdin=stdin)
    assert r.returncode == 0, f"authz {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


def refused(node, *args, stdin=None, code=None, says=None):
    r = authz(node, *args, stdin=stdin)
    assert r.returncode > 0, f"authz {' '.join(args)} was accepted:\n{r.stdout}"
    if code is not None:
        assert r.returncode == code, (r.returncode, r.stderr)
    if says is not None:
        assert says in r.stderr, r.stderr
    assert "terminate called" not in r.stderr and "Traceback" not in r.stderr
    return r


def database(node):
    return sqlite3.connect(node.data_dir / "ucedge.db")


def test_users_are_added_listed_given_new_passwords_and_removed(node):
    r = ok(node, "user", "add", "alice", "--alternate-id", "Alice@Example.COM", "--password-stdin",
           stdin=UTF8_PASSWORD + "\n")
    assert r.stdout.startswith("added user alice (alternate id alice@example.com)\n")
    assert "pässwörd" not in r.stdout + r.stderr

    # Without --password-stdin a password is made and shown once.
    r = ok(node, "user", "add", "bob")
    generated = re.search(r"^password: (\S+)$", r.stdout, re.M)
    assert generated and len(generated.group(1)) >= 16, r.stdout
    assert "shown only now" in r.stdout

    listed = ok(node, "user", "list").stdout
    assert re.search(r"^alice\s+alice@example\.com\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", listed, re.M), listed
    assert re.search(r"^bob\s+-\s+", listed, re.M), listed
    assert generated.group(1) not in listed
    users = {u["userid"]: u for u in json.loads(ok(node, "user", "list", "--json").stdout)}
    assert users["alice"]["alternateId"] == "alice@example.com"
    assert users["bob"]["alternateId"] is None

    with database(node) as db:
        hashes = dict(db.execute("SELECT userid, password_hash FROM authz_users"))
    assert all(h.startswith("$argon2id$") for h in hashes.values()), hashes
    assert not any("pässwörd" in h or generated.group(1) in h for h in hashes.values())

    r = ok(node, "user", "passwd", "alice", "--password-stdin", stdin="an€other one\n")
    assert "new password set for user alice" in r.stdout
    with database(node) as db:
        (changed,) = db.execute("SELECT password_hash FROM authz_users WHERE userid = 'alice'").fetchone()
    assert changed.startswith("$argon2id$") and changed != hashes["alice"]

    refused(node, "user", "add", "alice", "--password-stdin", stdin="x\n", says="already exists")
    refused(node, "user", "add", "carol", "--alternate-id", "ALICE@example.com", "--password-stdin",
            stdin="x\n", says="belongs to user alice")

    r = ok(node, "user", "remove", "alice")
    assert r.stdout.startswith("removed user alice")
    assert "alice" not in ok(node, "user", "list").stdout
    refused(node, "user", "remove", "alice", says="no user alice")
    refused(node, "user", "passwd", "alice", "--password-stdin", stdin="x\n", says="no user alice")
    # The alternate id is free again once its user is gone.
    ok(node, "user", "add", "carol", "--alternate-id", "alice@example.com", "--password-stdin", stdin="x\n")


def test_a_confidential_clients_secret_is_shown_once_and_never_listed(node):
    r = ok(node, "client", "add", "softphone", "--public", "--redirect-uri", "com.example.softphone:/cb",
           "--redirect-uri", "http://127.0.0.1/callback", "--name", "Soft Phone", "--scope", "openid profile")
    assert r.stdout.startswith("added public client softphone\n"), r.stdout
    assert "client_secret" not in r.stdout and "PKCE" in r.stdout

    r = ok(node, "client", "add", "billing", "--confidential", "--redirect-uri", "https://billing.example/cb")
    secret = re.search(r"^client_secret: (\S+)$", r.stdout, re.M).group(1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), secret  # 256 bits, base64url
    assert "not shown again" in r.stdout

    # No id given: one is made.
    made = json.loads(ok(node, "client", "add", "--confidential", "--grant", "client_credentials", "--json").stdout)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", made["client_id"]), made
    assert made["grant_types"] == ["client_credentials"] and len(made["client_secret"]) == 43

    listed = ok(node, "client", "list")
    listed_json = ok(node, "client", "list", "--json")
    for out in (listed.stdout + listed.stderr, listed_json.stdout):
        assert secret not in out and made["client_secret"] not in out
        assert hashlib.sha256(secret.encode()).hexdigest() not in out
    assert re.search(r"^billing\s+confidential\s+authorization_code,refresh_token,client_credentials\s",
                     listed.stdout, re.M), listed.stdout
    assert re.search(r"^softphone\s+public\s+authorization_code,refresh_token\s+"
                     r"com\.example\.softphone:/cb http://127\.0\.0\.1/callback\s+Soft Phone$",
                     listed.stdout, re.M), listed.stdout
    clients = {c["client_id"]: c for c in json.loads(listed_json.stdout)}
    assert set(clients) == {"softphone", "billing", made["client_id"]}
    assert clients["softphone"]["scope"] == "openid profile"
    assert clients["softphone"]["client_type"] == "public"
    assert all("client_secret" not in c for c in clients.values())

    with database(node) as db:
        (digest,) = db.execute("SELECT secret_sha256 FROM authz_clients WHERE client_id = 'billing'").fetchone()
    assert digest == hashlib.sha256(secret.encode()).hexdigest()

    r = ok(node, "client", "rotate-secret", "billing")
    rotated = re.search(r"^client_secret: (\S+)$", r.stdout, re.M).group(1)
    assert rotated != secret and len(rotated) == 43
    with database(node) as db:
        (digest,) = db.execute("SELECT secret_sha256 FROM authz_clients WHERE client_id = 'billing'").fetchone()
    assert digest == hashlib.sha256(rotated.encode()).hexdigest()
    refused(node, "client", "rotate-secret", "softphone", says="public")

    ok(node, "client", "remove", "softphone")
    assert "softphone" not in ok(node, "client", "list").stdout
    refused(node, "client", "remove", "softphone", says="no client softphone")


def shown_keys(node, *args):
    shown = json.loads(ok(node, "keys", "show", *args, "--json").stdout)
    return {(k["use"], k["state"]): k["hash"] for k in shown["keys"]}


def test_keys_are_shown_only_as_hashes_and_regenerated(node):
    r = ok(node, "keys", "show")
    hashes = HEX64.findall(r.stdout)
    assert len(hashes) == 2 and hashes[0] != hashes[1], r.stdout
    assert re.search(r"^signing\s+current\s+" + hashes[0], r.stdout, re.M), r.stdout
    assert re.search(r"^encryption\s+current\s+" + hashes[1], r.stdout, re.M), r.stdout
    for text in (r.stdout, r.stderr, ok(node, "keys", "show", "--json").stdout):
        assert "BEGIN" not in text and "PRIVATE" not in text and '"k"' not in text and '"d"' not in text

    before = shown_keys(node)
    assert before == {("signing", "current"): hashes[0], ("encryption", "current"): hashes[1]}
    only_signing = ok(node, "keys", "show", "signing").stdout
    assert hashes[0] in only_signing and hashes[1] not in only_signing

    # A new encryption key is used at once; the one it replaces still decrypts.
    r = ok(node, "keys", "regenerate", "encryption")
    new_encryption = HEX64.search(r.stdout.splitlines()[0]).group(0)
    after = shown_keys(node)
    assert new_encryption != hashes[1]
    assert after[("encryption", "current")] == new_encryption
    assert after[("encryption", "previous")] == hashes[1]
    assert after[("signing", "current")] == hashes[0]

    # A new signing key is published first and signs later.
    r = ok(node, "keys", "regenerate", "signing")
    new_signing = HEX64.search(r.stdout.splitlines()[0]).group(0)
    assert "signs new tokens from" in r.stdout
    after = shown_keys(node)
    assert new_signing != hashes[0]
    assert after[("signing", "next")] == new_signing
    assert after[("signing", "current")] == hashes[0]
    assert "BEGIN" not in r.stdout + r.stderr

    r = ok(node, "keys", "export")
    assert "secret" in r.stderr.lower()
    exported = json.loads(r.stdout)["keys"]
    assert {k["kty"] for k in exported} == {"RSA", "oct"}
    assert all("d" not in k for k in exported if k["kty"] == "RSA")


def test_refresh_tokens_are_listed_with_readable_validity_and_revoked(node):
    r = ok(node, "tokens", "list")
    assert r.stdout.split("\n")[0].split() == ["pkid", "refreshtokenindex", "userid", "clientid", "validity",
                                               "state"]
    assert "(0 rows)" in r.stdout
    assert json.loads(ok(node, "tokens", "list", "--json").stdout) == []

    # Rows as the token endpoint writes them (its own tests cover that part).
    ok(node, "user", "list")  # creates and migrates the database
    validity = 1795442531
    readable = datetime.datetime.fromtimestamp(validity, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert readable == "2026-11-23 14:02:11 UTC"
    now = int(time.time())
    with database(node) as db:
        for pkid, index, user, client in [("p1", "t1", "alice", "softphone"), ("p2", "t2", "alice", "desk"),
                                          ("p3", "t3", "bob", "softphone")]:
            db.execute("INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, clientid, validity, "
                       "state, family_id, scope, issued_at) VALUES (?, ?, ?, ?, ?, 'active', ?, '', ?)",
                       (pkid, index, user, client, validity, index, now))

    r = ok(node, "tokens", "list", "--user", "alice")
    assert re.search(r"^p1\s+t1\s+alice\s+softphone\s+" + readable + r"\s+active$", r.stdout, re.M), r.stdout
    assert "p3" not in r.stdout and "(2 rows)" in r.stdout
    rows = json.loads(ok(node, "tokens", "list", "--json", "--client", "softphone").stdout)
    assert sorted(t["pkid"] for t in rows) == ["p1", "p3"]
    assert rows[0]["validity"] == validity and rows[0]["validityUtc"].startswith("2026-11-23")
    assert "of 3 rows" in ok(node, "tokens", "list", "--limit", "1").stdout

    r = ok(node, "tokens", "revoke", "--user", "alice", "--client", "desk")
    assert r.stdout.startswith("revoked 1 refresh token(s) of user alice on client desk")
    revoked = json.loads(ok(node, "tokens", "list", "--json", "--state", "revoked").stdout)
    assert [t["pkid"] for t in revoked] == ["p2"]
    r = ok(node, "tokens", "revoke", "--user", "alice")
    assert r.stdout.startswith("revoked 1 refresh token(s) of user alice")
    active = json.loads(ok(node, "tokens", "list", "--json", "--state", "active").stdout)
    assert [t["pkid"] for t in active] == ["p3"]
    assert ok(node, "tokens", "revoke", "--user", "nobody").stdout.startswith("revoked 0 ")


def test_purge_runs_on_demand(node):
    ok(node, "user", "list")
    with database(node) as db:
        db.execute("INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, clientid, validity, state, "
                   "family_id, scope, issued_at) VALUES ('old', 'old', 'u', 'c', 1000, 'active', 'old', '', 900)")
        db.execute("INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, clientid, validity, state, "
                   "family_id, scope, issued_at) VALUES ('new', 'new', 'u', 'c', ?, 'active', 'new', '', ?)",
                   (int(time.time()) + 86400, int(time.time())))
    r = ok(node, "purge")
    assert r.stdout.startswith("purged 1 refresh token(s)"), r.stdout
    assert [t["pkid"] for t in json.loads(ok(node, "tokens", "list", "--json").stdout)] == ["new"]


def test_bad_input_is_refused_with_a_reason(node):
    refused(node, "client", "add", "x", "--redirect-uri", "https://a.example/cb", code=2,
            says="--public or --confidential")
    refused(node, "client", "add", "x", "--public", "--confidential", "--redirect-uri", "https://a.example/cb")
    refused(node, "client", "add", "a/b", "--public", "--redirect-uri", "https://a.example/cb", says="client id")
    refused(node, "client", "add", "x", "--public", "--redirect-uri", "https://a.example/cb#top", says="fragment")
    refused(node, "client", "add", "x", "--public", "--redirect-uri", "/cb", says="not absolute")
    refused(node, "client", "add", "x", "--public", says="redirect URI")
    refused(node, "client", "add", "x", "--public", "--grant", "client_credentials",
            says="public client cannot use client_credentials")
    refused(node, "client", "add", "x", "--confidential", "--grant", "implicit", "--redirect-uri",
            "https://a.example/cb", says="unknown grant type")
    refused(node, "client", "rotate-secret", "nobody", says="no client nobody")
    refused(node, "user", "add", "", "--password-stdin", stdin="x\n", says="empty")
    refused(node, "user", "add", "dave", "--password-stdin", stdin="", code=2, says="no password")
    refused(node, "user", "add", "dave", "--password-stdin", stdin="\n", code=2, says="empty")
    refused(node, "tokens", "list", "--state", "stale", code=2, says="active, rotated, revoked")
    refused(node, "tokens", "list", "--limit", "0", code=2, says="--limit")
    refused(node, "tokens", "revoke")
    refused(node, "keys", "show", "public", code=2, says="signing or encryption")
    refused(node, "keys", "regenerate", "both", code=2, says="signing or encryption")
    refused(node, "keys", "regenerate")
    refused(node, "nonsense")
    # Nothing was half-made by the refusals.
    assert json.loads(ok(node, "client", "list", "--json").stdout) == []
    assert json.loads(ok(node, "user", "list", "--json").stdout) == []
