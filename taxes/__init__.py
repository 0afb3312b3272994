"""個人住民税 (individual resident tax): declarations, assessments and their versions, collection.

What this app owns:

- ``residenttax.py``: the pure calculation (FORMATS.md §8), rules per fiscal year, no database.
- ``collection.py``: the pure split of a levy into 普通徴収 installments and 特別徴収 months.
- Declarations (住民税申告) residents file on ``/my/tax/``, with the clerk's corrections;
  employers' salary reports (給与支払報告書) imported from CSV; assessments (当初課税 and each
  更正 as a new version) written by an assessment run; the 特別徴収 schedules per employer.
- Documents: the 税額決定通知書 PDF and the employers' notice CSV; the public simulation.

What it may import (DESIGN.md §2): ``residents.selectors`` (who lived here on 1 January, the
household with ages), ``payments.services`` / ``payments.selectors`` (charges, 更正 through
adjusting entries, credits: never editing paid history) and ``procedures`` through its
registries and services (the 住民税申告 case kind in the clerks' queue, the 課税証明書 data,
attachments). Nothing below imports ``taxes``.
"""
