"""The channels a notice goes out on besides the portal inbox: e-mail and LINE.

Each send function hands messages to the channel's server and says, per message or batch, what
happened in GOV.UK Notify's words: accepted (delivered as far as we can know), temporary (try
again on the retry schedule), permanent (the address is bad: stop using it) or technical (our
side or configuration is wrong). They never touch the database: delivery.py keeps the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

ACCEPTED = "accepted"
TEMPORARY = "temporary"
PERMANENT = "permanent"
TECHNICAL = "technical"
RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""
