"""電子申請 (online procedures).

Owns: the procedure catalogue, versioned form definitions and their designer, applications and
their case workflow, attachments, signatures of submissions and certificates (PDF, with the
certificate-kind registry taxes fills).

May import: ``cityhall``; ``residents`` (selectors, and services for the counter's 書かない窓口 and My
Number on certificates); ``payments.services`` / ``payments.selectors`` and the ``payments.hooks``
registry for fees; ``identity`` (signing, assurance levels); ``gis`` selectors. Apps above (taxes,
facilities, counter, notices) use its selectors, services and registries; procedures imports none
of them.
"""
