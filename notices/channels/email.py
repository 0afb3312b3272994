"""E-mail: an HTML part and a plain-text part, with one-click unsubscribe (RFC 8058).

Every notice mail carries `List-Unsubscribe: <https://…/notices/unsubscribe/<token>/>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`: a mail client may unsubscribe with one
POST and no sign-in. The SMTP server is the site's (or MACHIBA_NOTICES_EMAIL_*).

A send to many residents is one message with a few words changed per recipient, so:
- `compile` has Django build the MIME message once, with markers where the recipient's address,
  Message-ID, unsubscribe link, date, subject and fields go; `Compiled.fill` puts them in (bytes,
  no MIME work per recipient). The bytes equal what `build(...)` makes for the same mail.
- `send_many` hands messages over several SMTP connections at once, many messages each, and
  pipelines MAIL/RCPT/DATA (RFC 2920) when the server offers PIPELINING: one round trip per
  message instead of four. Python's smtplib does the connecting, TLS, login and reply parsing.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message as _HeaderMessage
from io import BytesIO

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import forbid_multi_line_headers, sanitize_address

from . import ACCEPTED, PERMANENT, TECHNICAL, TEMPORARY, Outcome


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    message_id: str


def connection():
    return get_connection(
        backend=settings.NOTICES_EMAIL_BACKEND,
        host=settings.NOTICES_EMAIL_HOST,
        port=settings.NOTICES_EMAIL_PORT,
        fail_silently=False,
    )


def build(mail: Mail, *, conn=None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text,
        from_email=settings.NOTICES_FROM_EMAIL,
        to=[mail.to],
        connection=conn,
        headers={
            "Message-ID": mail.message_id,
            "List-Unsubscribe": f"<{mail.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(mail.html, "text/html")
    return message


def _code_outcome(code: int, detail: str) -> Outcome:
    # SMTP replies: 4xx is transient (try later), 5xx is permanent (RFC 5321 §4.2.1).
    return Outcome(PERMANENT if 500 <= code < 600 else TEMPORARY, detail)


def send(mail: Mail, *, conn) -> Outcome:
    """One message through a Django mail backend (the path of backends that are not SMTP:
    locmem in tests, console or file in development)."""
    try:
        build(mail, conn=conn).send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return _code_outcome(code, f"{code} {reply!r}"[:300])
    except smtplib.SMTPResponseException as exc:
        return _code_outcome(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}"[:300])
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(TEMPORARY, type(exc).__name__)
    return Outcome(ACCEPTED)


# --- one message built once, filled per recipient -------------------------------------------

_TO = "machiba-to-x7q@placeholder.invalid"
_MESSAGE_ID = "<machiba-mid-x7q@placeholder.invalid>"
_UNSUBSCRIBE = "machiba-unsub-x7q"
_SUBJECT = "machiba-subject-x7q"
_DATE_LINE = re.compile(rb"^Date: [^\r\n]*\r\n", re.MULTILINE)
_SUBJECT_LINE = f"Subject: {_SUBJECT}\r\n".encode()
# What Django passes through unchanged as an address (so the envelope and To: are the string).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# A body line longer than this makes Django choose quoted-printable (RFC 5322 §2.1.1).
_LINE_LIMIT = 998


def plain_address(address: str) -> bool:
    return bool(_PLAIN_ADDRESS.fullmatch(address))


def _generated(name: str, value: str) -> bytes:
    """A header line exactly as Django's message generator writes it: Django's checks and
    encoding (RFC 2047 words for a subject), then compat32 folding at 78 characters."""
    _name, value = forbid_multi_line_headers(name, value, settings.DEFAULT_CHARSET)
    header = _HeaderMessage()
    header[name] = value
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False).flatten(header, linesep="\r\n")
    return out.getvalue()[:-2]  # the header line(s), without the empty line after the headers


# Printable ASCII without the characters folding splits at: such a value is folded by its
# length only, so one generated line of each length serves every value of that length.
_FOLDED_BY_LENGTH = re.compile(r"[!-+\--:<-~]+")
_shapes: dict[tuple[str, int], tuple[bytes, bytes]] = {}


def header_line(name: str, value: str) -> bytes:
    if name.lower() == "subject" or not _FOLDED_BY_LENGTH.fullmatch(value):
        return _generated(name, value)
    shape = _shapes.get((name, len(value)))
    if shape is None:
        before, found, after = _generated(name, value).partition(value.encode())
        if not found:
            return before
        shape = _shapes[(name, len(value))] = (before, after)
    return shape[0] + value.encode() + shape[1]


def subject_line(subject: str) -> bytes:
    return _generated("Subject", subject)


class Compiled:
    """A notice's message as bytes, split at its markers; `fill` joins in one recipient's."""

    def __init__(self, data: bytes, fields: Mapping[str, str]):
        slots = {
            header_line("To", _TO): "to",
            header_line("Message-ID", _MESSAGE_ID): "message_id",
            header_line("List-Unsubscribe", f"<{_UNSUBSCRIBE}>"): "unsubscribe",
            _SUBJECT_LINE: "subject",
            b"\x00date\x00": "date",
            **{mark.encode(): ("field", name) for name, mark in fields.items()},
        }
        data = _DATE_LINE.sub(b"\x00date\x00", data, count=1)
        pattern = re.compile(b"|".join(re.escape(key) for key in sorted(slots, key=len)[::-1]))
        self.parts: list = []
        at = 0
        for match in pattern.finditer(data):
            self.parts += [data[at : match.start()], slots[match.group()]]
            at = match.end()
        self.parts.append(data[at:])
        found = {slot for slot in self.parts[1::2] if not isinstance(slot, bytes)}
        wanted = set(slots.values())
        # Every marker must be there literally: a body Django encoded (quoted-printable for a
        # line over 998 bytes) cannot be filled this way.
        self.complete = found == wanted
        body = data.split(b"\r\n\r\n", 1)[-1]
        self.longest_line = max(len(line) for line in body.split(b"\r\n"))
        self.marks_per_line = max(
            sum(line.count(mark.encode()) for mark in fields.values()) or 1
            for line in body.split(b"\r\n")
        )
        self._subjects: dict[str, bytes] = {}

    def fits(self, values: Mapping[str, str]) -> bool:
        """Whether these values keep every line within SMTP's limit (else Django would have
        encoded the body differently)."""
        grown = sum(len(value.encode()) for value in values.values()) * self.marks_per_line
        return self.longest_line + grown <= _LINE_LIMIT

    def fill(
        self,
        *,
        to: str,
        subject: str,
        message_id: str,
        unsubscribe_url: str,
        date: str,
        values: Mapping[str, str],
    ) -> bytes:
        subject_bytes = self._subjects.get(subject)
        if subject_bytes is None:
            if len(self._subjects) > 1000:
                self._subjects.clear()
            subject_bytes = self._subjects[subject] = subject_line(subject)
        given = {
            "to": header_line("To", to),
            "message_id": header_line("Message-ID", message_id),
            "unsubscribe": header_line("List-Unsubscribe", f"<{unsubscribe_url}>"),
            "subject": subject_bytes,
            "date": b"Date: " + date.encode() + b"\r\n",
        }
        out = []
        for i, part in enumerate(self.parts):
            if i % 2 == 0:
                out.append(part)
            elif isinstance(part, tuple):
                out.append(values[part[1]].encode())
            else:
                out.append(given[part])
        return b"".join(out)


def compile(*, text: str, html: str, fields: Mapping[str, str]) -> Compiled | None:
    """Build the message once (by Django, as `build` does) with markers: `fields` maps each
    field to the marker standing in its place in `text` and `html`. None: it cannot be filled."""
    data = (
        build(
            Mail(
                to=_TO,
                subject=_SUBJECT,
                text=text,
                html=html,
                unsubscribe_url=_UNSUBSCRIBE,
                message_id=_MESSAGE_ID,
            )
        )
        .message()
        .as_bytes(linesep="\r\n")
    )
    compiled = Compiled(data, fields)
    return compiled if compiled.complete else None


def message_bytes(mail: Mail) -> tuple[str, bytes]:
    """The envelope recipient and bytes of one mail built whole by Django (what the merge
    cannot fill: an address Django rewrites, values that are not plain words)."""
    message = build(mail)
    return (
        sanitize_address(mail.to, message.encoding or settings.DEFAULT_CHARSET),
        message.message().as_bytes(linesep="\r\n"),
    )


# --- handing many messages to the SMTP server -----------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    to: str  # the envelope recipient
    data: bytes  # the whole message, CRLF line ends


def is_smtp(backend) -> bool:
    return isinstance(backend, SmtpBackend)


def _stuffed(data: bytes) -> bytes:
    # DATA ends at a line with one ".": a line of the message starting with "." gets another
    # (RFC 5321 §4.5.2), as smtplib does.
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return smtplib._quote_periods(data) + b".\r\n"


def send_many(
    messages: list[Outgoing],
    *,
    connections: int,
    acquire: Callable[[], object] = lambda: None,
) -> list[Outcome]:
    """Hand every message to the SMTP server over up to `connections` connections at once;
    returns one outcome per message. `acquire` is called before each message (rate limits).

    A message whose content went out but whose reply never came (the connection broke) may
    have been delivered: it is a technical failure, never sent again (at most once)."""
    outcomes: list[Outcome | None] = [None] * len(messages)
    count = max(1, min(connections, len(messages)))
    shares = [range(start, len(messages), count) for start in range(count)]
    envelope_from = sanitize_address(settings.NOTICES_FROM_EMAIL, settings.DEFAULT_CHARSET)
    if count == 1:
        _converse(messages, shares[0], outcomes, envelope_from, acquire)
    else:
        with ThreadPoolExecutor(count, thread_name_prefix="notices-smtp") as pool:
            for future in [
                pool.submit(_converse, messages, share, outcomes, envelope_from, acquire)
                for share in shares
            ]:
                future.result()
    return [outcome or Outcome(TEMPORARY, "not sent") for outcome in outcomes]


def _converse(messages, share, outcomes, envelope_from: str, acquire) -> None:
    backend = connection()
    pending: int | None = None  # the message whose content went out, its reply unread
    try:
        backend.open()
        smtp = backend.connection
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("pipelining"):
            for i in share:
                acquire()
                pending = i
                outcomes[i] = _one_by_one(smtp, envelope_from, messages[i])
                pending = None
            return
        sender = b"MAIL FROM:<" + envelope_from.encode() + b">\r\n"
        carry = b""
        for i in share:
            acquire()
            smtp.send(carry + sender + b"RCPT TO:<" + messages[i].to.encode() + b">\r\nDATA\r\n")
            carry = b""
            if pending is not None:
                outcomes[pending] = _end_outcome(*smtp.getreply())
                pending = None
            mail, rcpt, data = smtp.getreply(), smtp.getreply(), smtp.getreply()
            if mail[0] == 250 and rcpt[0] in (250, 251) and data[0] == 354:
                carry, pending = _stuffed(messages[i].data), i
                continue
            if data[0] == 354:
                # DATA taken without a good recipient (a server that ignores RFC 2920 §3.1):
                # an empty message, which it refuses for want of recipients.
                smtp.send(b".\r\n")
                smtp.getreply()
            refused = next(reply for reply in (mail, rcpt, data) if reply[0] not in (250, 251))
            outcomes[i] = _code_outcome(refused[0], f"{refused[0]} {refused[1]!r}"[:300])
            smtp.rset()
        if pending is not None:
            smtp.send(carry)
            outcomes[pending] = _end_outcome(*smtp.getreply())
            pending = None
    except (smtplib.SMTPException, OSError) as exc:
        if pending is not None:
            outcomes[pending] = Outcome(
                TECHNICAL, f"connection lost after sending; not resent: {exc!r}"[:300]
            )
        for i in share:
            if outcomes[i] is None:
                outcomes[i] = Outcome(TEMPORARY, type(exc).__name__)
    finally:
        try:
            backend.close()
        except (smtplib.SMTPException, OSError):
            pass


def _end_outcome(code: int, reply: bytes) -> Outcome:
    if code == 250:
        return Outcome(ACCEPTED)
    return _code_outcome(code, f"{code} {reply!r}"[:300])


def _one_by_one(smtp: smtplib.SMTP, envelope_from: str, message: Outgoing) -> Outcome:
    try:
        smtp.sendmail(envelope_from, [message.to], message.data)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return _code_outcome(code, f"{code} {reply!r}"[:300])
    except smtplib.SMTPResponseException as exc:
        # smtplib has already reset the transaction (RSET).
        return _code_outcome(exc.smtp_code, f"{exc.smtp_code} {exc.smtp_error!r}"[:300])
    return Outcome(ACCEPTED)
