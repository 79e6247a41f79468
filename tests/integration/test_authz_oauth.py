"""The OAuth 2.0 authorization service with the clients its users have:
Python authlib (Debian's python3-authlib) runs the code grant with PKCE
through the sign-in page, refreshes and revokes; jwcrypto (python3-jwcrypto)
checks the tokens independently with the published JWKS and the exported
encryption key; requests drives the error cases, the concurrent-refresh race,
introspection and the admin API."""
import base64
import concurrent.futures
import hashlib
import html.parser
import json
import re
import secrets
import time
import urllib.parse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto import jwe, jwk, jws

PASSWORD = "pä:ss wörd€ \"quoted\""
REDIRECT = "http://127.0.0.1:9/app/callback"
KID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}:[0-9a-f]{64}$")


class HiddenFields(html.parser.HTMLParser):
    """The sign-in form's hidden inputs and its action."""

    def __init__(self):
        super().__init__()
        self.fields = {}
        self.action = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def hidden_fields(page):
    parser = HiddenFields()
    parser.feed(page)
    return parser


def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def cli_ok(u, *args, stdin=None):
    import subprocess
    from conftest import BINARY
    r = subprocess.run([BINARY, "--config", str(u.config_file), *args], input=stdin, capture_output=True,
                       text=True, timeout=60, cwd=u.workdir)
    assert r.returncode == 0, f"ucedge {' '.join(args)}: {r.stdout}\n{r.stderr}"
    return r.stdout


def add_user(u, userid, password=PASSWORD, email=None):
    args = ["authz", "user", "add", userid, "--password-stdin"]
    if email:
        args += ["--alternate-id", email]
    cli_ok(u, *args, stdin=password + "\n")


def add_client(u, client_id, confidential, redirect=REDIRECT, grants=(), scopes=()):
    args = ["authz", "client", "add", client_id, "--confidential" if confidential else "--public",
            "--redirect-uri", redirect]
    for g in grants:
        args += ["--grant", g]
    for s in scopes:
        args += ["--scope", s]
    out = cli_ok(u, *args)
    if not confidential:
        return None
    m = re.search(r"secret\W+([A-Za-z0-9_-]{43})\b", out, re.IGNORECASE)
    assert m, f"no secret in: {out}"
    return m.group(1)


@pytest.fixture
def authz(start_ucedge):
    """A running node with user alice, a public app and a confidential resource server."""
    def setup(u):
        add_user(u, "alice", email="Alice@Example.com")
        add_client(u, "phone-app", False, scopes=("openid", "calls", "voicemail"))
        u.rs_secret = add_client(u, "resource-server", True, grants=("client_credentials",),
                                 scopes=("calls",))
    u = start_ucedge(before_start=setup, extra='\n[authz]\nrotation_grace_period = "2s"\nrotation_grace_reuses = 10\n')
    u.base = u.url("http")
    return u


def metadata(u):
    r = requests.get(u.base + "/.well-known/oauth-authorization-server", timeout=10)
    assert r.status_code == 200
    return r.json()


def sign_in(u, session, authorize_url, login="alice", password=PASSWORD):
    """Loads the sign-in page like a browser and posts the form; returns the redirect."""
    page = session.get(authorize_url, timeout=10, allow_redirects=False)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in page.headers["Content-Security-Policy"] or "'none'" in page.headers[
        "Content-Security-Policy"]
    form = hidden_fields(page.text)
    data = dict(form.fields, login=login, password=password)
    return session.post(urllib.parse.urljoin(u.base, form.action), data=data, timeout=30, allow_redirects=False)


def code_flow(u, scope="openid calls"):
    """authlib's full code + PKCE flow through the sign-in page; returns (client, token)."""
    meta = metadata(u)
    client = OAuth2Session("phone-app", redirect_uri=REDIRECT, scope=scope, code_challenge_method="S256",
                           token_endpoint_auth_method="none")
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier)
    browser = requests.Session()
    answer = sign_in(u, browser, url)
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert query["state"] == [state]
    assert query["iss"] == [meta["issuer"]]
    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    return client, token


def test_metadata_and_jwks_describe_the_service(authz):
    meta = metadata(authz)
    assert meta["issuer"] == authz.base
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint",
                "jwks_uri"):
        assert meta[key].startswith(authz.base + "/oauth2/")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "refresh_token" in meta["grant_types_supported"]
    r = requests.get(meta["jwks_uri"], timeout=10)
    assert r.status_code == 200
    assert re.search(r"max-age=\d+", r.headers["Cache-Control"])
    keys = r.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    assert KID.match(keys[0]["kid"])
    assert "d" not in keys[0] and "p" not in keys[0]


def test_authlib_code_flow_refresh_and_revoke(authz):
    meta = metadata(authz)
    client, token = code_flow(authz)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["scope"] == "openid calls"
    assert token["refresh_token"]

    refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]  # rotation is on by default
    assert refreshed["scope"] == "openid calls"

    # Both access tokens stay valid until they expire.
    for t in (token["access_token"], refreshed["access_token"]):
        assert introspect(authz, t)["active"] is True

    client.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"],
                        token_type_hint="refresh_token")
    r = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "client_id": "phone-app",
                                                     "refresh_token": refreshed["refresh_token"]}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # Revoking the refresh token ends the sign-in: its access tokens too.
    assert introspect(authz, refreshed["access_token"]) == {"active": False}


def introspect(u, token, hint=None, auth=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    r = requests.post(u.base + "/oauth2/introspect", data=data, auth=auth or ("resource-server", u.rs_secret),
                      timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()


def test_tokens_have_the_seed_format_and_verify_with_jwcrypto(authz):
    _, token = code_flow(authz)
    access, refresh = token["access_token"], token["refresh_token"]

    header = b64json(access.split(".")[0])
    assert header == {"alg": "RS256", "typ": "JWT", "kid": header["kid"]} and KID.match(header["kid"])
    issuer_id = header["kid"].split(":")[0]

    keyset = jwk.JWKSet.from_json(requests.get(authz.base + "/oauth2/jwks", timeout=10).text)
    outer = jws.JWS()
    outer.deserialize(access)
    outer.verify(keyset.get_key(header["kid"]))
    payload = json.loads(outer.payload)
    assert list(payload) == ["private"]

    inner_header = b64json(payload["private"].split(".")[0])
    assert inner_header["alg"] == "dir" and inner_header["enc"] == "A128CBC-HS256"
    assert inner_header["cty"] == "JWT" and KID.match(inner_header["kid"])
    assert inner_header["kid"].split(":")[0] == issuer_id
    assert inner_header["kid"] != header["kid"]  # signing and encryption keys always differ

    exported = jwk.JWKSet.from_json(cli_ok(authz, "authz", "keys", "export"))
    inner = jwe.JWE()
    inner.deserialize(payload["private"], key=exported.get_key(inner_header["kid"]))
    claims = json.loads(inner.payload)
    assert claims["sub"] == "alice" and claims["client_id"] == "phone-app"
    assert claims["scope"] == "openid calls" and claims["iss"] == issuer_id
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60

    rheader = b64json(refresh.split(".")[0])
    assert rheader == header
    r = jws.JWS()
    r.deserialize(refresh)
    r.verify(keyset.get_key(rheader["kid"]))
    rclaims = json.loads(r.payload)
    assert list(rclaims) == ["exp", "iss", "typ", "tid", "ctyp", "ccid"]
    assert rclaims["iss"] == issuer_id and rclaims["typ"] == "user" and rclaims["ctyp"] == "refresh"
    assert rclaims["ccid"] == "phone-app"
    assert abs(rclaims["exp"] - (time.time() + 60 * 86400)) < 120


def test_authorize_errors_follow_rfc_6749(authz):
    base = authz.base + "/oauth2/authorize"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=").decode()
    ok = {"response_type": "code", "client_id": "phone-app", "redirect_uri": REDIRECT, "state": "s&t=1 2",
          "code_challenge": challenge, "code_challenge_method": "S256"}

    def get(**changes):
        params = {k: v for k, v in dict(ok, **changes).items() if v is not None}
        return requests.get(base, params=params, timeout=10, allow_redirects=False)

    assert get().status_code == 200
    # Unknown client or unregistered redirect: shown, never redirected.
    for bad in (get(client_id="nobody"), get(redirect_uri="https://evil.example/cb"), get(client_id=None)):
        assert bad.status_code == 400 and "Location" not in bad.headers
        assert bad.headers["Content-Type"].startswith("text/html")

    def redirected_error(r):
        assert r.status_code == 303, r.text
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)
        assert q["state"] == ["s&t=1 2"]
        return q["error"][0]

    assert redirected_error(get(code_challenge=None, code_challenge_method=None)) == "invalid_request"
    assert redirected_error(get(code_challenge_method="plain")) == "invalid_request"
    assert redirected_error(get(response_type="token")) == "unsupported_response_type"
    assert redirected_error(get(scope="admin")) == "invalid_scope"
    r = requests.get(base + "?" + urllib.parse.urlencode(ok) + "&state=again", timeout=10, allow_redirects=False)
    assert r.status_code == 400 and "repeated" in r.text


def test_wrong_password_and_rate_limit(authz):
    url = authz.base + "/oauth2/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "phone-app", "redirect_uri": REDIRECT,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
    browser = requests.Session()
    r = sign_in(authz, browser, url, password="wrong")
    assert r.status_code == 403
    assert 'role="alert"' in r.text
    # A missing or wrong CSRF value is refused even with the right password.
    page = browser.get(url, timeout=10)
    fields = dict(hidden_fields(page.text).fields, login="alice", password=PASSWORD, csrf="forged")
    r = browser.post(authz.base + "/oauth2/authorize", data=fields, timeout=30, allow_redirects=False)
    assert r.status_code == 403 and "Location" not in r.headers
    for _ in range(4):
        assert sign_in(authz, requests.Session(), url, password="wrong").status_code == 403
    # Five failures for alice within the minute: now even the right password waits.
    r = sign_in(authz, requests.Session(), url, login="ALICE@example.com")
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 0


def test_basic_credentials_are_utf8(authz):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"x" * 50).digest()).rstrip(b"=").decode()
    url = authz.base + "/oauth2/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "phone-app", "redirect_uri": REDIRECT, "state": "b",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    basic = base64.b64encode(("alice:" + PASSWORD).encode("utf-8")).decode()
    r = requests.get(url, headers={"Authorization": "Basic " + basic}, timeout=30, allow_redirects=False)
    assert r.status_code == 303, r.text
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)["code"][0]
    r = requests.post(authz.base + "/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": "phone-app",
        "code_verifier": "x" * 50}, timeout=10)
    assert r.status_code == 200, r.text


def test_token_endpoint_errors(authz):
    token_url = authz.base + "/oauth2/token"
    r = requests.post(token_url, data={"grant_type": "password", "client_id": "phone-app"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.post(token_url, data={"grant_type": "client_credentials"}, auth=("resource-server", "wrong"),
                      timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    r = requests.post(token_url, data={"grant_type": "client_credentials", "client_id": "phone-app"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(token_url, data={"grant_type": "authorization_code", "code": "nope", "client_id": "phone-app",
                                       "redirect_uri": REDIRECT, "code_verifier": "v" * 43}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = requests.post(token_url, json={"grant_type": "client_credentials"}, auth=("resource-server", authz.rs_secret),
                      timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_code_is_single_use_and_needs_the_verifier(authz):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = authz.base + "/oauth2/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "phone-app", "redirect_uri": REDIRECT,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    r = sign_in(authz, requests.Session(), url)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": "phone-app"}
    token_url = authz.base + "/oauth2/token"
    r = requests.post(token_url, data=dict(exchange, code_verifier=secrets.token_urlsafe(48)), timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # The failed attempt used the code up; a fresh sign-in is needed.
    r = sign_in(authz, requests.Session(), url)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["Location"]).query)["code"][0]
    exchange["code"] = code
    first = requests.post(token_url, data=dict(exchange, code_verifier=verifier), timeout=10)
    assert first.status_code == 200, first.text
    again = requests.post(token_url, data=dict(exchange, code_verifier=verifier), timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # A code presented twice may be stolen: what it produced is revoked.
    r = requests.post(token_url, data={"grant_type": "refresh_token", "client_id": "phone-app",
                                       "refresh_token": first.json()["refresh_token"]}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert introspect(authz, first.json()["access_token"]) == {"active": False}


def refresh(u, token):
    return requests.post(u.base + "/oauth2/token", data={"grant_type": "refresh_token", "client_id": "phone-app",
                                                         "refresh_token": token}, timeout=30)


def test_concurrent_refreshes_get_one_answer_and_late_reuse_revokes(authz):
    _, token = code_flow(authz)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: refresh(authz, token["refresh_token"]), range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    children = {a.json()["refresh_token"] for a in answers}
    assert len(children) == 1  # the same new refresh token for every racer
    child = children.pop()
    assert child != token["refresh_token"]

    # Past rotation_grace_period = 2s; the store counts whole seconds, so a
    # rotation late in one second may still be within grace 2.9 s later.
    time.sleep(3.2)
    late = refresh(authz, token["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    # Reuse detected: the whole sign-in is revoked, the child and access tokens too.
    assert refresh(authz, child).status_code == 400
    assert introspect(authz, answers[0].json()["access_token"]) == {"active": False}


def test_client_credentials_and_introspection(authz):
    meta = metadata(authz)
    service = OAuth2Session("resource-server", authz.rs_secret, token_endpoint_auth_method="client_secret_basic")
    token = service.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    assert "refresh_token" not in token
    assert token["scope"] == "calls"
    answer = introspect(authz, token["access_token"], hint="access_token")
    assert answer["active"] is True and answer["client_id"] == "resource-server"
    assert answer["sub"] == "resource-server" and "username" not in answer
    assert answer["exp"] - answer["iat"] == 3600

    _, user_token = code_flow(authz)
    answer = introspect(authz, user_token["refresh_token"], hint="refresh_token")
    assert answer["active"] is True and answer["token_type"] == "refresh_token" and answer["username"] == "alice"
    answer = introspect(authz, user_token["access_token"])
    assert answer["username"] == "alice" and answer["scope"] == "openid calls"

    for junk in ("", "abc", "a.b.c", user_token["access_token"][:-4] + "AAAA"):
        if junk:
            assert introspect(authz, junk) == {"active": False}
    r = requests.post(authz.base + "/oauth2/introspect", data={"token": token["access_token"]}, timeout=10)
    assert r.status_code == 401
    r = requests.post(authz.base + "/oauth2/introspect", data={"token": token["access_token"],
                                                                "client_id": "phone-app"}, timeout=10)
    assert r.status_code == 401  # a public client cannot introspect

    # RFC 7009: revoking an access token; an unknown token is answered alike.
    for t in (token["access_token"], "not-a-token"):
        r = requests.post(meta["revocation_endpoint"], data={"token": t}, auth=("resource-server", authz.rs_secret),
                          timeout=10)
        assert r.status_code == 200
    assert introspect(authz, token["access_token"]) == {"active": False}


def admin_api(u, method, path, **kwargs):
    return requests.request(method, u.base + path, auth=u.admin(), timeout=30, **kwargs)


def test_admin_lists_and_revokes_refresh_tokens(authz):
    code_flow(authz)
    _, token = code_flow(authz)
    r = admin_api(authz, "GET", "/api/v1/authz/tokens?userid=alice")
    assert r.status_code == 200
    listed = r.json()
    assert listed["total"] == 2
    row = listed["tokens"][0]
    assert set(row) >= {"pkid", "refreshtokenindex", "userid", "clientid", "validity", "state"}
    assert row["userid"] == "alice" and row["clientid"] == "phone-app" and row["state"] == "active"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row["validity"])
    assert requests.get(authz.base + "/api/v1/authz/tokens", timeout=10).status_code == 401

    r = admin_api(authz, "POST", "/api/v1/authz/tokens/revoke", json={"userid": "alice", "clientid": "other"})
    assert r.status_code == 200 and r.json() == {"revoked": 0}
    r = admin_api(authz, "POST", "/api/v1/authz/tokens/revoke", json={"userid": "alice", "clientid": "phone-app"})
    assert r.json() == {"revoked": 2}
    assert refresh(authz, token["refresh_token"]).status_code == 400
    assert introspect(authz, token["access_token"]) == {"active": False}


def test_key_view_and_signing_key_regeneration(authz):
    _, before = code_flow(authz)
    r = admin_api(authz, "GET", "/api/v1/authz/keys")
    assert r.status_code == 200
    view = r.json()
    assert view["mismatch"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", view["signing_hash"]) and view["signing_hash"] != view["encryption_hash"]
    assert [n["matches"] for n in view["nodes"]] == [True]
    assert "PRIVATE" not in r.text

    r = admin_api(authz, "POST", "/api/v1/authz/keys/signing/regenerate")
    assert r.status_code == 200
    new = r.json()
    assert new["state"] == "next"
    # Published before it signs, so a client that caches the key set keeps working.
    kids = [k["kid"] for k in requests.get(authz.base + "/oauth2/jwks", timeout=10).json()["keys"]]
    assert new["kid"] in kids and len(kids) == 2
    assert introspect(authz, before["access_token"])["active"] is True
    _, after = code_flow(authz)
    assert b64json(after["access_token"].split(".")[0])["kid"] != new["kid"]


def test_metrics_move(authz):
    code_flow(authz)
    text = requests.get(authz.base + "/metrics", timeout=10).text
    assert re.search(r'^ucedge_authz_tokens_issued_total\{grant="authorization_code"\} [1-9]', text, re.M)
    assert re.search(r'^ucedge_authz_logins_total\{result="ok"\} [1-9]', text, re.M)
