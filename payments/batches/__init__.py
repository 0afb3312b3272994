"""Batch jobs as real jobs: a ``BatchRun`` row holds state, counts, money totals and a cursor.

``runs`` is the machinery (submit, execute, locks, staging, chunks, retry); ``billing``,
``konbini_import`` and ``jobs`` are the jobs, each registered for its ``BatchRun.Kind``.
Importing the same file twice finds the first run (same digest) and changes nothing.
"""

from . import billing, jobs, konbini_import, runs
from .billing import due_dates, parse_assessment_csv
from .konbini_import import barcode_amount_mismatches, konbini_external_ref
from .runs import (
    CHUNK,
    RUNNERS,
    execute,
    input_path,
    orphaned_runs,
    resume_orphaned_runs,
    retry,
    submit,
)

__all__ = [
    "CHUNK",
    "RUNNERS",
    "barcode_amount_mismatches",
    "billing",
    "due_dates",
    "execute",
    "input_path",
    "jobs",
    "konbini_external_ref",
    "konbini_import",
    "orphaned_runs",
    "parse_assessment_csv",
    "resume_orphaned_runs",
    "retry",
    "runs",
    "submit",
]
