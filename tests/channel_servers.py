"""Local stand-ins for the channels' servers, for tests and benchmarks (never used by the app).

`LineServer` implements the LINE endpoints Machiba uses: Messaging API multicast (with
X-Line-Retry-Key: an accepted key answers 409 on repeat), and LINE Login's authorize, token
(an HS256 ID token signed with the channel secret) and friendship status. It counts requests by
retry key, and can be told to answer 429 or to accept a request and then fail (a lost response).
`SmtpServer` is aiosmtpd on a local port that keeps what it receives and can refuse recipients
with a permanent (550) or temporary (451) reply.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from aiosmtpd.controller import Controller

LINE_TOKEN = "test-channel-access-token"
LOGIN_CHANNEL_ID = "1650000000"
LOGIN_SECRET = "test-login-channel-secret-of-32-bytes-or-more"


class LineServer:
    def __init__(self, *, token: str = LINE_TOKEN, latency: float = 0.0):
        self.token = token
        self.latency = latency
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every multicast request: key, size, status
        self.accepted: dict[str, dict] = {}  # retry key -> {"to": [...], "text": ...}
        self.by_key: Counter = Counter()  # retry key -> requests seen
        self.received: Counter = Counter()  # user id -> messages accepted for them
        self.script: list = []  # statuses to answer next: 429, 500, or "accept-then-500"
        self.times: list[float] = []
        self.codes: dict[str, dict] = {}
        self.login_user = {"sub": "U" + secrets.token_hex(16), "name": "LINE太郎"}
        self.friend = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                return

            def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_POST(self):
                path = urlparse(self.path).path
                body = self._body()
                if path == "/v2/bot/message/multicast":
                    return server._multicast(self, body)
                if path == "/oauth2/v2.1/token":
                    return server._token(self, body)
                self._json(404, {"message": "Not found"})

            def do_GET(self):
                parsed = urlparse(self.path)
                if parsed.path == "/oauth2/v2.1/authorize":
                    return server._authorize(self, parse_qs(parsed.query))
                if parsed.path == "/friendship/v1/status":
                    return self._json(200, {"friendFlag": server.friend})
                self._json(404, {"message": "Not found"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LineServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- Messaging API -------------------------------------------------------------------

    def _multicast(self, handler, body: bytes) -> None:
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return handler._json(401, {"message": "Authentication failed"})
        payload = json.loads(body or b"{}")
        key = handler.headers.get("X-Line-Retry-Key", "")
        to = payload.get("to") or []
        text = (payload.get("messages") or [{}])[0].get("text", "")
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.times.append(time.monotonic())
            self.by_key[key] += 1
            scripted = self.script.pop(0) if self.script else None
            if not 1 <= len(to) <= 500:
                status = 400
            elif key and key in self.accepted:
                status = 409
            elif scripted in (429, 500):
                status = scripted
            else:
                self.accepted[key or secrets.token_hex(8)] = {"to": list(to), "text": text}
                for user_id in to:
                    self.received[user_id] += 1
                status = 500 if scripted == "accept-then-500" else 200
            self.requests.append({"key": key, "size": len(to), "status": status})
        if status == 200:
            return handler._json(200, {"sentMessages": [{"id": secrets.token_hex(8)}]})
        if status == 409:
            return handler._json(
                409,
                {"message": "The retry key is already accepted", "sentMessages": []},
                {"x-line-accepted-request-id": secrets.token_hex(8)},
            )
        if status == 429:
            return handler._json(429, {"message": "The API rate limit has been exceeded."})
        if status == 400:
            return handler._json(400, {"message": "The request body has 1 error(s)"})
        return handler._json(500, {"message": "Internal server error"})

    # --- LINE Login ----------------------------------------------------------------------

    def _authorize(self, handler, query: dict) -> None:
        code = secrets.token_urlsafe(12)
        self.codes[code] = {"nonce": query.get("nonce", [""])[0]}
        target = (
            query["redirect_uri"][0]
            + "?"
            + urlencode({"code": code, "state": query.get("state", [""])[0]})
        )
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _token(self, handler, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        found = self.codes.pop(form.get("code", ""), None)
        if found is None or form.get("client_secret") != LOGIN_SECRET:
            return handler._json(400, {"error": "invalid_grant"})
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": "https://access.line.me",
                "sub": self.login_user["sub"],
                "aud": LOGIN_CHANNEL_ID,
                "exp": now + 3600,
                "iat": now,
                "nonce": found["nonce"],
                "name": self.login_user["name"],
            },
            LOGIN_SECRET,
            algorithm="HS256",
        )
        handler._json(
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 2592000,
                "id_token": id_token,
                "scope": "openid profile",
            },
        )


class _Recorder:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for marker, reply in self.server.refuse.items():
            if marker in address:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            self.server.messages.append({"to": list(envelope.rcpt_tos), "data": envelope.content})
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        # address substring -> SMTP reply, e.g. {"bounce": "550 5.1.1 No such user"}
        self.refuse: dict[str, str] = {}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def count_to(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for message in self.messages:
            for address in message["to"]:
                counts[address] += 1
        return counts
