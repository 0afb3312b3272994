"""Unified billing and collection (税・料金の一元化).

Owns: charges (賦課) and installments (期別), payments from every channel, allocation (消込), credits and
refunds, late charges (延滞金), reminders (督促), approvals of large corrections, and the batch jobs
(billing, konbini, zengin) with their BatchRun rows.

May import: ``cityhall`` and ``residents.selectors`` (plus ``residents.models`` for foreign keys).
Apps above bill through ``payments.services``, read through ``payments.selectors`` and learn of a
settled charge through the ``payments.hooks`` registry they fill; payments never imports them.
"""
