"""Batch kinds whose work lives in another module of payments: direct debit, late charges,
demand notices and reminders. The run machinery gives them a run row, a lock and a retry."""

from __future__ import annotations

from ..models import BatchRun
from . import runs


@runs.runner(BatchRun.Kind.ZENGIN_REQUEST)
def _run_zengin_request(run: BatchRun) -> None:
    from .. import direct_debit

    direct_debit.generate_request(run)


@runs.runner(BatchRun.Kind.ZENGIN_RESULT)
def _run_zengin_result(run: BatchRun) -> None:
    from .. import direct_debit

    direct_debit.import_result(run, runs.input_path(run).read_bytes())


@runs.runner(BatchRun.Kind.LATE_CHARGE)
def _run_late_charges(run: BatchRun) -> None:
    from .. import arrears

    arrears.fix_late_charges(run)


@runs.runner(BatchRun.Kind.ARREARS)
def _run_arrears(run: BatchRun) -> None:
    from .. import arrears

    arrears.issue_notices(run)
