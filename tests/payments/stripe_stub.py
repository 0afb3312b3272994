"""A local stand-in for the parts of Stripe's API the checkout adapter uses, on a real socket.

Endpoints (Stripe's paths and shapes, form-encoded requests, JSON answers):

- ``POST /v1/checkout/sessions`` — a session in ``open`` state with a hosted ``url`` here; the
  same ``Idempotency-Key`` returns the same session.
- ``GET /v1/checkout/sessions/<id>`` — the session; ``expand[]=payment_intent.latest_charge``
  expands the payment intent and its charge.
- ``POST /v1/refunds`` — a refund of a payment intent.
- ``GET /pay/<id>`` and ``POST /pay/<id>`` — the hosted checkout page: paying captures the
  amount, sends the signed ``checkout.session.completed`` webhook to ``webhook_url`` and sends
  the browser to the session's ``success_url``.

Tests drive it directly too: :meth:`StripeStub.complete` captures a session (at a given time, for
a given amount) and :meth:`StripeStub.signed_event` builds a notification signed as Stripe signs.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from urllib.request import Request, urlopen

SECRET_KEY = "sk_test_machiba_stub"
WEBHOOK_SECRET = "whsec_machiba_stub"


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(node):
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


class StripeStub:
    def __init__(self) -> None:
        self.sessions: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.refunds: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.webhook_url = ""
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str, headers=()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, data: dict) -> None:
                self._send(status, json.dumps(data).encode(), "application/json")

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {SECRET_KEY}":
                    return True
                self._json(401, {"error": {"type": "invalid_request_error", "message": "key"}})
                return False

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = _nest(parse_qsl(url.query))
                if url.path.startswith("/pay/"):
                    self._page(url.path.rsplit("/", 1)[-1])
                    return
                match = re.fullmatch(r"/v1/checkout/sessions/([\w]+)", url.path)
                if not match or not self._authorised():
                    if not match:
                        self._json(404, {"error": {"type": "invalid_request_error"}})
                    return
                stub.requests.append(("GET", url.path, query))
                session = stub.sessions.get(match.group(1))
                if session is None:
                    self._json(404, {"error": {"type": "invalid_request_error"}})
                    return
                self._json(200, stub.render(session, expand=query.get("expand", [])))

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = _nest(parse_qsl(self.rfile.read(length).decode()))
                if url.path.startswith("/pay/"):
                    session_id = url.path.rsplit("/", 1)[-1]
                    session = stub.complete(session_id, captured_at=datetime.now().astimezone())
                    if stub.webhook_url:
                        stub.deliver(session_id, "checkout.session.completed")
                    self._send(303, b"", "text/plain", [("Location", session["success_url"])])
                    return
                if not self._authorised():
                    return
                stub.requests.append(("POST", url.path, form))
                if url.path == "/v1/checkout/sessions":
                    key = self.headers.get("Idempotency-Key", "")
                    self._json(200, stub.render(stub.create(form, key)))
                elif url.path == "/v1/refunds":
                    refund = {
                        "id": f"re_{next(stub._ids)}",
                        "object": "refund",
                        "amount": int(form["amount"]),
                        "payment_intent": form["payment_intent"],
                        "status": "succeeded",
                    }
                    stub.refunds.append(refund)
                    self._json(200, refund)
                else:
                    self._json(404, {"error": {"type": "invalid_request_error"}})

            def _page(self, session_id: str) -> None:
                session = stub.sessions.get(session_id)
                if session is None:
                    self._send(404, b"no such session", "text/plain")
                    return
                page = f"""<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>Stub checkout</title></head><body><h1>Stub checkout</h1>
<p id="amount">{session["amount_total"]} JPY</p>
<form method="post"><button type="submit" id="pay">Pay</button></form>
<a id="cancel" href="{html.escape(session["cancel_url"])}">Cancel</a></body></html>"""
                self._send(200, page.encode(), "text/html; charset=utf-8")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StripeStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the provider's book -------------------------------------------------------------------

    def create(self, form: dict, key: str) -> dict:
        with self._lock:
            if key and key in self.by_key:
                return self.sessions[self.by_key[key]]
            number = next(self._ids)
            item = form["line_items"][0]
            session = {
                "id": f"cs_test_{number}",
                "object": "checkout.session",
                "mode": form["mode"],
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
                "currency": item["price_data"]["currency"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": form.get("metadata", {}),
                "success_url": form["success_url"],
                "cancel_url": form["cancel_url"],
                "expires_at": int(form["expires_at"]),
                "url": f"{self.url}/pay/cs_test_{number}",
                "payment_intent": None,
            }
            self.sessions[session["id"]] = session
            if key:
                self.by_key[key] = session["id"]
            return session

    def complete(self, session_id: str, *, captured_at: datetime, amount: int | None = None):
        """The payer paid: the session is complete and paid, its charge captured then."""
        session = self.sessions[session_id]
        captured = session["amount_total"] if amount is None else amount
        number = next(self._ids)
        session.update(
            status="complete",
            payment_status="paid",
            payment_intent={
                "id": f"pi_{number}",
                "object": "payment_intent",
                "status": "succeeded",
                "amount_received": captured,
                "latest_charge": {
                    "id": f"ch_{number}",
                    "object": "charge",
                    "amount_captured": captured,
                    "captured": True,
                    "created": int(captured_at.timestamp()),
                },
            },
        )
        return session

    def expire(self, session_id: str) -> dict:
        session = self.sessions[session_id]
        session.update(status="expired")
        return session

    def render(self, session: dict, *, expand=()) -> dict:
        out = json.loads(json.dumps(session))
        intent = out.get("payment_intent")
        if intent and "payment_intent" not in " ".join(expand):
            out["payment_intent"] = intent["id"]
        elif intent and "payment_intent.latest_charge" not in expand:
            intent["latest_charge"] = intent["latest_charge"]["id"]
        return out

    # --- notifications -------------------------------------------------------------------------

    def signed_event(
        self, session_id: str, kind: str, *, secret: str = WEBHOOK_SECRET, timestamp=None
    ) -> tuple[bytes, dict]:
        """A notification as Stripe sends it: the session (intent not expanded) in an event,
        signed ``t=…,v1=HMAC-SHA256(secret, "t.body")``."""
        body = json.dumps(
            {
                "id": f"evt_{next(self._ids)}",
                "object": "event",
                "type": kind,
                "created": int(time.time()),
                "data": {"object": self.render(self.sessions[session_id])},
            }
        ).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(
            secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return body, {"Stripe-Signature": f"t={stamp},v1={signature}"}

    def deliver(self, session_id: str, kind: str) -> int:
        body, headers = self.signed_event(session_id, kind)
        request = Request(
            self.webhook_url, data=body, headers={**headers, "Content-Type": "application/json"}
        )
        with urlopen(request, timeout=10) as response:  # noqa: S310 - the test server
            return response.status
