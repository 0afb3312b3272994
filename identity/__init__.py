"""Identity (本人確認).

Owns: マイナンバーカード (JPKI / OpenID Connect) login and account linking, signatures of submissions,
WebAuthn for staff and assurance levels.

May import: ``cityhall`` and ``residents.selectors`` (the card's four facts matched to a resident).
``procedures`` uses its signing and assurance services; identity imports no app above residents.
"""
