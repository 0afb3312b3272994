"""E-mail: an HTML part and a plain-text part, with one-click unsubscribe (RFC 8058).

Every notice mail carries `List-Unsubscribe: <https://…/notices/unsubscribe/<token>/>` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`: a mail client may unsubscribe with one
POST and no sign-in. The SMTP server is the site's (or MACHIBA_NOTICES_EMAIL_*).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import ACCEPTED, PERMANENT, TEMPORARY, Outcome


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
