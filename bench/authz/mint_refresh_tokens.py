#!/usr/bin/python3
"""Refresh tokens for the refresh-grant benchmark, each the head of its own
family, minted through ucedge's authorization-code flow: GET /oauth2/authorize
(PKCE S256), the sign-in form posted with the user's password, the code from
the redirect exchanged at POST /oauth2/token with HTTP Basic client
authentication. Prints one refresh token a line.

  mint_refresh_tokens.py BASE_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI USER PASSWORD COUNT [PARALLEL [SCOPE]]

Each worker thread keeps its cookies, so a server that remembers the sign-in
skips the form after the first flow. Stops at the first failure with what the
server answered.
"""
import base64
import concurrent.futures
import hashlib
import html.parser
import http.cookiejar
import json
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

LOGIN_FIELD = "login"  # src/authz/oauth/login_page.hpp
PASSWORD_FIELD = "password"


class Failure(Exception):
    pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # hand 30x answers back as they are: the code is in Location


class FormParser(html.parser.HTMLParser):
    """The first <form> of the page: its action, method and named inputs."""

    def __init__(self):
        super().__init__()
        self.form = None
        self.done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.done:
            return
        if tag == "form" and self.form is None:
            self.form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                         "fields": []}
        elif self.form is not None and tag in ("input", "button", "select", "textarea") and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if tag == "button" or kind in ("submit", "button", "reset"):
                return
            self.form["fields"].append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.done = True


def basic(client_id, secret):
    # RFC 6749 §2.3.1: both form-urlencoded before base64.
    pair = urllib.parse.quote_plus(client_id) + ":" + urllib.parse.quote_plus(secret)
    return "Basic " + base64.b64encode(pair.encode()).decode()


def call(opener, method, url, data=None, headers=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if body is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as answer:
        return answer.code, dict(answer.headers), answer.read().decode("utf-8", "replace")


def header(headers, name):
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


class Minter:
    def __init__(self, base, client_id, secret, redirect_uri, user, password, scope):
        self.base, self.client_id, self.secret = base.rstrip("/"), client_id, secret
        self.redirect_uri, self.user, self.password, self.scope = redirect_uri, user, password, scope
        self.local = threading.local()

    def opener(self):
        if not hasattr(self.local, "opener"):
            self.local.opener = urllib.request.build_opener(
                NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        return self.local.opener

    def code_from(self, status, headers, body, state):
        location = header(headers, "location")
        if status not in (301, 302, 303, 307) or not location.startswith(self.redirect_uri):
            return None
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        if "error" in query:
            raise Failure(f"authorize redirected with an error: {location}")
        if query.get("state") != [state]:
            raise Failure(f"state did not round-trip: {location}")
        if "code" not in query:
            raise Failure(f"redirect without a code: {location}")
        return query["code"][0]

    def mint(self, _=None):
        opener = self.opener()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(16)
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                  "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
        if self.scope:
            params["scope"] = self.scope
        query = urllib.parse.urlencode(params)
        url = f"{self.base}/oauth2/authorize?{query}"
        status, headers, body = call(opener, "GET", url)
        code = self.code_from(status, headers, body, state)
        if code is None:
            if status != 200:
                raise Failure(f"GET /oauth2/authorize answered {status}: {body[:300]}")
            parser = FormParser()
            parser.feed(body)
            form = parser.form
            if form is None:
                raise Failure(f"GET /oauth2/authorize answered 200 without a sign-in form: {body[:300]}")
            fields = [(k, v) for k, v in form["fields"] if k not in (LOGIN_FIELD, PASSWORD_FIELD)]
            fields += [(LOGIN_FIELD, self.user), (PASSWORD_FIELD, self.password)]
            action = urllib.parse.urljoin(url, form["action"]) if form["action"] else url
            status, headers, body = call(opener, "POST", action, fields)
            code = self.code_from(status, headers, body, state)
            if code is None:
                raise Failure(f"signing in answered {status} {header(headers, 'location')}: {body[:300]}")
        status, _, body = call(opener, "POST", f"{self.base}/oauth2/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
            "code_verifier": verifier}, {"Authorization": basic(self.client_id, self.secret),
                                         "Accept": "application/json"})
        if status != 200:
            raise Failure(f"POST /oauth2/token (authorization_code) answered {status}: {body[:300]}")
        try:
            token = json.loads(body)["refresh_token"]
        except (ValueError, KeyError, TypeError):
            raise Failure(f"the code exchange answered no refresh_token: {body[:300]}") from None
        return token


def main():
    if len(sys.argv) not in (8, 9, 10):
        sys.exit(__doc__)
    base, client_id, secret, redirect_uri, user, password, count = sys.argv[1:8]
    parallel = int(sys.argv[8]) if len(sys.argv) > 8 else 4
    scope = sys.argv[9] if len(sys.argv) > 9 else ""
    minter = Minter(base, client_id, secret, redirect_uri, user, password, scope)
    try:
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            tokens = list(pool.map(minter.mint, range(int(count))))
    except (Failure, OSError) as e:
        sys.exit(f"minting refresh tokens: {e}")
    if len(set(tokens)) != len(tokens):
        sys.exit("minting refresh tokens: the server handed out the same refresh token twice")
    sys.stdout.write("".join(t + "\n" for t in tokens))


if __name__ == "__main__":
    main()
