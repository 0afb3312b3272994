"""住民基本台帳 (the basic resident register).

Owns: residents, households, addresses, the movement (異動) history, My Number (encrypted, every read
audited) and the link between a portal account and a resident.

May import: ``cityhall`` only (roles, audit, events, Japanese text, navigation). Every app above
reads residents through ``residents.selectors`` and changes them through ``residents.services``;
residents imports none of them (who must hear about a movement learns it through
``cityhall.events``).
"""
