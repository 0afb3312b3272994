"""The sandbox provider's own book: what it was asked to collect and what happened.

This table stands in for the provider's side; payments only learns of it by a signed webhook or
by asking the provider (``SandboxProvider.fetch_status``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SandboxIntent(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("未決済")
        SUCCEEDED = "succeeded", _("決済成功")
        REFUNDED = "refunded", _("返金")

    token = models.CharField(_("識別子"), max_length=40, unique=True)
    amount = models.BigIntegerField(_("金額"))
    reference = models.CharField(_("加盟店参照"), max_length=60, unique=True)
    return_url = models.CharField(_("戻り先"), max_length=500)
    cancel_url = models.CharField(_("中止時の戻り先"), max_length=500, blank=True)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.OPEN)
    # A declined card leaves the checkout open (the payer tries another card on the same page).
    declines = models.PositiveSmallIntegerField(_("拒否された回数"), default=0)
    captured_at = models.DateTimeField(_("売上確定日時"), null=True, blank=True)
    refunded_amount = models.BigIntegerField(_("返金額"), default=0)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("サンドボックス決済")
        verbose_name_plural = _("サンドボックス決済")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"
