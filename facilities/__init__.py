"""Public facility reservations (公共施設予約) with a fair, verifiable lottery (抽選).

What this app owns: facilities (施設) and their bookable units (室場) with fixed periods or
hourly slots, opening hours, closures, equipment (付帯設備) and photos; user registrations
(利用者登録: individuals, groups with their member lists, temporary users); monthly lottery
rounds, their entries (第1・第2希望 …), the seeded draw and its published files; bookings
(first-come holds, lottery wins, recurring group use with rejected occurrences, official use
that blocks slots), check-in at the door, cancellations with refunds by schedule, and penalty
points.

What it may import, and nothing else of the other apps:

- ``cityhall`` (roles, audit, navigation and dashboard registries, dates, Japanese text);
- ``residents.selectors`` — whether an account is linked to a current resident (the resident
  rate, who pays);
- ``gis.selectors`` and ``gis.services`` public functions — the facilities layer on ``/map/``;
- ``payments.services``, ``payments.selectors`` and the settlement-hook registry
  ``payments.hooks`` — fees are billed as charges with origin ``facilities.booking:<id>`` or
  ``facilities.series:<id>``, and payments tells us when one is settled.

Nothing below this app imports it. ``facilities.draw`` is pure standard-library Python: it is the
draw itself and the standalone verification script residents can download and run.
"""
