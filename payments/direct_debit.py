"""口座振替 (direct debit) in the Zengin format: accounts, request files, result files."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from . import services
from .formats import zengin
from .models import BatchRun, DebitAccount, DebitRequest, Installment

DEFAULT_ORIGINATOR = {
    "originator_code": "0000012345",
    "originator_name_kana": "ﾏﾁﾊﾞｼ",
    "bank_code": "0001",
    "bank_name_kana": "ﾏﾁﾊﾞｷﾞﾝｺｳ",
    "branch_code": "001",
    "branch_name_kana": "ﾎﾝﾃﾝ",
    "account_type": 1,
    "account_number": "1234567",
}


def originator() -> dict:
    """The city's contract with its bank (a setting, as FORMATS.md asks of bank variants)."""
    return {**DEFAULT_ORIGINATOR, **getattr(settings, "PAYMENTS_ZENGIN_ORIGINATOR", {})}


def register_account(
    *,
    resident,
    bank_code: str,
    branch_code: str,
    account_type: int,
    account_number: str,
    holder_kana: str,
) -> DebitAccount:
    """Register (or replace) the account a resident's bills are debited from."""
    errors = {}
    if not (len(bank_code) == 4 and bank_code.isdigit()):
        errors["bank_code"] = _("金融機関コードは4桁の数字です。")
    if not (len(branch_code) == 3 and branch_code.isdigit()):
        errors["branch_code"] = _("支店コードは3桁の数字です。")
    if account_type not in zengin.ACCOUNT_TYPES:
        errors["account_type"] = _("預金種目を選んでください。")
    if not (account_number.isdigit() and len(account_number) <= 7):
        errors["account_number"] = _("口座番号は7桁までの数字です。")
    try:
        kana = zengin.to_zengin_kana(holder_kana.strip())
    except ValueError:
        errors["holder_kana"] = _("口座名義はカタカナで入力してください。")
    else:
        if not kana or len(kana) > 30:
            errors["holder_kana"] = _("口座名義は30文字までです。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        DebitAccount.objects.filter(resident=resident, active=True).update(active=False)
        return DebitAccount.objects.create(
            resident=resident,
            bank_code=bank_code,
            branch_code=branch_code,
            account_type=account_type,
            account_number=account_number.zfill(7),
            holder_kana=kana,
        )


def customer_number(installment_id: int) -> str:
    return str(installment_id).zfill(20)


def generate_request(run: BatchRun) -> None:
    """Request file for one debit date: every installment due that day with money outstanding
    whose payer has an active account (set-based: one INSERT … SELECT … ON CONFLICT)."""
    debit_on = date.fromisoformat(run.params["on_date"])
    with transaction.atomic():
        candidates = (
            Installment.objects.filter(due_on=debit_on, allocated__lt=F("amount"))
            .filter(charge__payer__debit_accounts__active=True)
            .values_list("pk", "charge__payer__debit_accounts__pk", "amount", "allocated")
        )
        DebitRequest.objects.bulk_create(
            [
                DebitRequest(
                    batch_run=run,
                    installment_id=pk,
                    account_id=account_id,
                    debit_on=debit_on,
                    amount=amount - allocated,
                    customer_number=customer_number(pk),
                )
                for pk, account_id, amount, allocated in candidates
            ],
            ignore_conflicts=True,
        )
        requests = list(
            DebitRequest.objects.filter(batch_run=run).select_related("account").order_by("id")
        )
        records = [
            zengin.DebitRecord(
                bank_code=r.account.bank_code,
                bank_name_kana=r.account.bank_name_kana,
                branch_code=r.account.branch_code,
                branch_name_kana=r.account.branch_name_kana,
                account_type=r.account.account_type,
                account_number=r.account.account_number,
                holder_kana=r.account.holder_kana,
                amount=r.amount,
                new_code=0 if r.account.sent_once else 1,
                customer_number=r.customer_number,
            )
            for r in requests
        ]
        data = zengin.build_request(debit_date=debit_on, records=records, **originator())
        DebitAccount.objects.filter(pk__in={r.account_id for r in requests}).update(sent_once=True)
        BatchRun.objects.filter(pk=run.pk).update(
            output=data,
            output_name=f"zengin-request-{debit_on:%Y%m%d}.txt",
            total=len(requests),
            processed=len(requests),
            succeeded_count=len(requests),
            amount_total=sum(r.amount for r in requests),
            amount_succeeded=sum(r.amount for r in requests),
        )


def import_result(run: BatchRun, data: bytes) -> None:
    """The bank's result file: result code 0 records a payment on the installment; any other
    code marks the request with its reason for follow-up. A record already answered is skipped,
    so a file imported again changes nothing."""
    parsed = zengin.parse_result(data)
    # The file gives the debit date as MMDD only: match requests on that day and customer number,
    # the unanswered (then the latest) first.
    month, day = int(parsed.header.debit_date[:2]), int(parsed.header.debit_date[2:])
    BatchRun.objects.filter(pk=run.pk).update(total=len(parsed.records))
    for position, record in enumerate(parsed.records):
        if position < run.cursor:
            continue
        with transaction.atomic():
            request = (
                DebitRequest.objects.select_for_update()
                .filter(
                    customer_number=record.customer_number,
                    debit_on__month=month,
                    debit_on__day=day,
                )
                .order_by(F("result_code").asc(nulls_first=True), "-debit_on")
                .first()
            )
            outcome = {"amount_total": F("amount_total") + record.amount}
            if request is None or request.result_code is not None:
                outcome["skipped_count"] = F("skipped_count") + 1
            elif record.debited:
                debit_on = request.debit_on
                payment = services.create_payment(
                    payer=request.installment.charge.payer,
                    channel="direct_debit",
                    amount=record.amount,
                    targets=[request.installment_id],
                    external_ref=f"{debit_on:%Y%m%d}:{record.customer_number}",
                )
                services.confirm_payment(
                    payment_id=payment.pk, paid_on=debit_on, received_on=debit_on
                )
                request.result_code = 0
                request.result_text = record.result_text
                request.payment = payment
                request.save(update_fields=["result_code", "result_text", "payment"])
                outcome["succeeded_count"] = F("succeeded_count") + 1
                outcome["amount_succeeded"] = F("amount_succeeded") + record.amount
            else:
                request.result_code = record.result_code
                request.result_text = record.result_text
                request.save(update_fields=["result_code", "result_text"])
                services.record_event(
                    "direct_debit.failed",
                    installment=request.installment,
                    amount=record.amount,
                    reason=record.result_text,
                    data={"result_code": record.result_code},
                )
                outcome["failed_count"] = F("failed_count") + 1
            # The record's effect and the cursor commit together: a resumed run starts after it.
            BatchRun.objects.filter(pk=run.pk).update(
                cursor=position + 1, processed=position + 1, **outcome
            )


def failed_debits():
    """Requests the bank refused, for clerks to follow up (send a slip, ask the resident)."""
    return (
        DebitRequest.objects.exclude(result_code=0)
        .exclude(result_code__isnull=True)
        .select_related("installment__charge__payer", "installment__charge__revenue")
        .order_by("-debit_on")
    )
