"""Local stand-ins for the channels' servers, for tests and benchmarks (never used by the app).

`LineServer` implements the LINE endpoints Machiba uses: Messaging API multicast (with
X-Line-Retry-Key: an accepted key answers 409 on repeat), and LINE Login's authorize, token
(an HS256 ID token signed with the channel secret) and friendship status. It counts requests by
retry key, and can be told to answer 429 or to accept a request and then fail (a lost response).
`SmtpServer` is a small asyncio SMTP server (PIPELINING, many messages per connection) on a
local port that keeps what it receives and can refuse recipients with a permanent (550) or
temporary (451) reply; `SmtpServerProcess` runs the same server in a process of its own that only
counts, for benchmarks (aiosmtpd, used before, took ~600 messages/s here: it was the floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt

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


class _SmtpSession(asyncio.Protocol):
    """One SMTP connection (RFC 5321, with PIPELINING, RFC 2920): commands are read as they
    come, and the replies to everything in one read go out in one write, so a client that
    pipelines MAIL/RCPT/DATA waits one round trip per message, not four."""

    def __init__(self, sink: SmtpSink):
        self.sink = sink
        self.buffer = b""
        self.in_data = False
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.sink.sessions += 1
        transport.write(b"220 127.0.0.1 machiba test SMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        closing = False
        while not closing:
            if self.in_data:
                # The message ends at CRLF.CRLF; the DATA command's own CRLF counts as the first.
                end = (b"\r\n" + self.buffer).find(b"\r\n.\r\n")
                if end < 0:
                    break
                content = self.buffer[: max(0, end - 2)] + (b"\r\n" if end else b"")
                self.buffer = self.buffer[end + 3 :]
                self.in_data = False
                number = self.sink.received(
                    self.recipients, (b"\r\n" + content).replace(b"\r\n..", b"\r\n.")[2:]
                )
                self.sender, self.recipients = None, []
                if number in self.sink.drop_after:
                    # The message is kept, but the reply is lost with the connection.
                    self.transport.close()
                    return
                replies.append(b"250 2.0.0 Message accepted for delivery")
                continue
            line, found, rest = self.buffer.partition(b"\r\n")
            if not found:
                break
            self.buffer = rest
            reply, closing = self._command(line.decode("utf-8", "replace"))
            replies.append(reply)
        if len(replies) > 1:
            self.sink.pipelined += 1
        if replies:
            self.transport.write(b"\r\n".join(replies) + b"\r\n")
        if closing:
            self.transport.close()

    def _command(self, line: str) -> tuple[bytes, bool]:
        verb, _space, argument = line.partition(" ")
        verb = verb.upper()
        if verb == "EHLO":
            self.sender, self.recipients = None, []
            return (
                b"250-127.0.0.1\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                b"250 SIZE 33554432",
                False,
            )
        if verb == "HELO":
            return b"250 127.0.0.1", False
        if verb == "MAIL":
            if self.sender is not None:
                return b"503 5.5.1 Error: nested MAIL command", False
            self.sender, self.recipients = _path(argument), []
            return b"250 2.1.0 OK", False
        if verb == "RCPT":
            if self.sender is None:
                return b"503 5.5.1 Error: need MAIL command", False
            address = _path(argument)
            for marker, reply in self.sink.refuse.items():
                if marker in address:
                    return reply.encode(), False
            self.recipients.append(address)
            return b"250 2.1.5 OK", False
        if verb == "DATA":
            if not self.recipients:
                return b"554 5.5.1 Error: no valid recipients", False
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>", False
        if verb == "RSET":
            self.sender, self.recipients = None, []
            return b"250 2.0.0 OK", False
        if verb == "NOOP":
            return b"250 2.0.0 OK", False
        if verb == "XCOUNT":
            # Ours, for a sink in another process: how many messages it has accepted.
            return f"250 {self.sink.count}".encode(), False
        if verb == "QUIT":
            return b"221 2.0.0 Bye", True
        return b"500 5.5.2 Error: command not recognized", False


def _path(argument: str) -> str:
    # "FROM:<a@b> SIZE=123" -> "a@b"
    value = argument.partition(":")[2].strip()
    return value.split(">", 1)[0].lstrip("<") if value.startswith("<") else value.split(" ")[0]


class SmtpSink:
    """The asyncio SMTP server behind SmtpServer and `python tests/channel_servers.py smtp`."""

    def __init__(self, *, keep: bool = True):
        self.keep = keep
        self.count = 0
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        # address substring -> SMTP reply, e.g. {"bounce": "550 5.1.1 No such user"}
        self.refuse: dict[str, str] = {}
        self.sessions = 0  # connections accepted
        self.pipelined = 0  # reads that carried more than one command
        self.drop_after: set[int] = set()  # message numbers after which the connection drops

    def received(self, recipients: list[str], content: bytes) -> int:
        with self.lock:
            self.count += 1
            if self.keep:
                self.messages.append({"to": list(recipients), "data": content})
            return self.count

    async def serve(self, port: int, ready: threading.Event | None = None) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SmtpSession(self), "127.0.0.1", port)
        if ready is not None:
            ready.set()
        async with server:
            await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """The sink in a thread of this process, keeping every message (tests read them)."""

    def __init__(self):
        self.sink = SmtpSink()
        self.messages = self.sink.messages
        self.lock = self.sink.lock
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __getattr__(self, name: str):
        # sessions, pipelined, drop_after, count: the sink's.
        return getattr(self.sink, name)

    @property
    def refuse(self) -> dict[str, str]:
        return self.sink.refuse

    @refuse.setter
    def refuse(self, value: dict[str, str]) -> None:
        self.sink.refuse = value

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.sink.serve(self.port, self.ready))
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the local SMTP server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        self.loop.close()

    def count_to(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for message in self.messages:
            for address in message["to"]:
                counts[address] += 1
        return counts


class SmtpServerProcess:
    """The sink in a process of its own that only counts (benchmarks: the server must not share
    the sender's interpreter, as a real relay does not); `count()` asks it over SMTP (XCOUNT)."""

    def __init__(self):
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> SmtpServerProcess:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "smtp", str(self.port)], stdout=subprocess.PIPE
        )
        if self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the local SMTP server process did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(10)

    def count(self) -> int:
        with smtplib.SMTP("127.0.0.1", self.port) as connection:
            code, reply = connection.docmd("XCOUNT")
        return int(reply)


def _serve_smtp(port: int) -> None:
    sink = SmtpSink(keep=False)

    async def main() -> None:
        ready = threading.Event()
        task = asyncio.create_task(sink.serve(port, ready))
        while not ready.is_set():
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await task

    asyncio.run(main())


if __name__ == "__main__":
    if sys.argv[1:2] == ["smtp"]:
        _serve_smtp(int(sys.argv[2]))
