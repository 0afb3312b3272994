"""Signing with the マイナンバーカード: flows in progress and the signatures the city relied on."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SigningRequest(models.Model):
    """One signing flow: started when the resident presses 署名する, finished at the callback.

    Kept in the database (not only the session) so the callback can be matched on any web
    worker and every attempt, refused ones included, can be counted.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("署名待ち")
        VERIFIED = "verified", _("署名を確認済み")
        REFUSED = "refused", _("署名を受け付けませんでした")
        CANCELLED = "cancelled", _("中止")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("利用者"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    # What is signed, as "app.model:pk" (e.g. "procedures.application:12"); the owning app
    # registers what happens once it is signed (identity.signing registry).
    origin = models.CharField(_("署名の対象"), max_length=100, db_index=True)
    canonical = models.TextField(_("署名する内容（正規化済み）"))
    digest = models.CharField(_("SHA-256"), max_length=64)
    state_token = models.CharField(_("state"), max_length=64, unique=True)
    code_verifier = models.CharField(_("PKCE code_verifier"), max_length=128, blank=True)
    transaction_id = models.CharField(_("署名トランザクションID"), max_length=100, blank=True)
    return_url = models.CharField(_("署名後の戻り先"), max_length=300)
    retry_url = models.CharField(_("やり直すときの戻り先"), max_length=300)
    state = models.CharField(_("状態"), max_length=12, choices=State.choices, default=State.PENDING)
    refusal_code = models.CharField(_("受け付けなかった理由"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("開始日時"), auto_now_add=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("署名の手続き")
        verbose_name_plural = _("署名の手続き")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "verified", "refused", "cancelled"]),
                name="signing_request_state_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.origin} {self.state}"


class Signature(models.Model):
    """A JPKI signature the city verified and relied on. Rows never change (a trigger refuses)."""

    origin = models.CharField(_("署名の対象"), max_length=100, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("署名した利用者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    canonical = models.TextField(_("署名された内容（正規化済み）"))
    digest = models.CharField(_("SHA-256"), max_length=64)
    signature = models.BinaryField(_("署名値"))
    certificate_pem = models.TextField(_("署名用電子証明書"))
    certificate_serial = models.CharField(_("証明書のシリアル番号"), max_length=80)
    certificate_issuer = models.CharField(_("証明書の発行者"), max_length=300)
    certificate_not_after = models.DateTimeField(_("証明書の有効期限"))
    signer_name = models.CharField(_("署名者の氏名"), max_length=200)
    signer_address = models.CharField(_("署名者の住所"), max_length=300)
    signer_birth_date = models.DateField(_("署名者の生年月日"), null=True, blank=True)
    signer_sex = models.CharField(_("署名者の性別"), max_length=10, blank=True)
    revocation_status = models.CharField(_("失効確認の結果"), max_length=20)
    revocation_source = models.CharField(_("失効情報の取得元"), max_length=300)
    crl_number = models.CharField(_("CRL番号"), max_length=40, blank=True)
    crl_this_update = models.DateTimeField(_("CRLの発行日時"), null=True, blank=True)
    transaction_id = models.CharField(_("署名トランザクションID"), max_length=100, blank=True)
    signed_at = models.DateTimeField(_("署名日時"))
    verified_at = models.DateTimeField(_("検証日時"))

    class Meta:
        verbose_name = _("電子署名")
        verbose_name_plural = _("電子署名")
        ordering = ["-verified_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revocation_status="good"), name="signature_relied_on_is_not_revoked"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.origin} {self.certificate_serial}"
