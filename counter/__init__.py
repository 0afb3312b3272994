"""The one-stop counter (総合窓口): queue tickets, the congestion display and the clerk's
one view of a resident.

Why an app of its own: it serves people standing in the hall, not records or cases. Its tables
(counters, services, numbered tickets and their timings) belong to no other domain, its public
display must stay up when everything else is busy, and its resident view reads every other app
(residents, procedures, payments) through their selectors, so it sits on top of them all and
nothing depends on it. DESIGN.md placed the counter queue in procedures; the README's
architecture section records the move.

May import: ``cityhall``, and ``residents``, ``procedures``, ``payments`` through their
selectors (read-only). Only ``notices`` stands above it, adding its section through ``register_section``.
"""
