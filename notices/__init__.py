"""お知らせ配信 (personalised notices): the app on top of all the others.

Owns: notice templates and their versions, segments (who a notice goes to, computed in SQL),
sends with their approval and history, one delivery row per recipient × channel (portal inbox,
e-mail, LINE) with its status history, LINE multicast batches and retry keys, residents'
subscriptions (topics, channels, quiet hours), consent to tax/benefit-based notices, LINE links,
and the outbox of events the other apps raise.

May import: cityhall (audit, roles, events, navigation), and the other apps' selectors only —
residents, gis, payments, procedures, counter. Nothing below imports notices: the apps tell it
about things through `cityhall.events.raise_event`, and the counter's 360 view shows its section
through `counter.residentview.register_section`, both filled from here in AppConfig.ready().
"""
