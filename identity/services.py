"""Signing with the マイナンバーカード: start a flow, and finish it by verifying the signature.

A signature is relied on only after the server itself checked it (identity.jpki): chain to the
configured 署名用認証局, validity at signing time, a current revocation list, and the signature
over the SHA-256 of the exact canonical bytes we asked the resident to sign. Anything else is
refused, audited, and nothing is stored.
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cityhall import audit

from . import jpki, platform, signing
from .models import Signature, SigningRequest

CANCELLED = "cancelled"
PLATFORM = "platform"
UNKNOWN_FLOW = "unknown_flow"

# Why a signature was not accepted, in the resident's words.
REFUSAL_MESSAGES = {
    jpki.TAMPERED: _("署名が申請内容と一致しませんでした。"),
    jpki.EXPIRED: _(
        "マイナンバーカードの署名用電子証明書の有効期限が切れています。"
        "市役所の窓口で電子証明書を更新してください。"
    ),
    jpki.NOT_YET_VALID: _("署名用電子証明書の有効期間がまだ始まっていません。"),
    jpki.REVOKED: _(
        "マイナンバーカードの署名用電子証明書が失効しています（住所や氏名の変更、カードの紛失など）。"
        "市役所の窓口で電子証明書を発行し直してください。"
    ),
    jpki.UNTRUSTED: _("署名用電子証明書の発行元を確認できませんでした。"),
    jpki.MALFORMED: _("署名または電子証明書を読み取れませんでした。"),
    jpki.NOT_FOR_SIGNING: _("署名用ではない電子証明書が使われました。"),
    jpki.REVOCATION_UNKNOWN: _(
        "電子証明書の失効確認ができませんでした。しばらくしてからもう一度お試しください。"
    ),
    CANCELLED: _("署名を中止しました。"),
    PLATFORM: _(
        "マイナンバーカードの読み取りサービスにつながりませんでした。"
        "しばらくしてからもう一度お試しください。"
    ),
    UNKNOWN_FLOW: _("この署名の手続きは見つからないか、すでに終わっています。"),
}


class SigningFailed(Exception):
    """The signature was not accepted; `code` says why, `message` says it to the resident."""

    def __init__(self, code: str, message: str, request: SigningRequest | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.signing_request = request


def refusal_message(code: str) -> str:
    return str(REFUSAL_MESSAGES.get(code, REFUSAL_MESSAGES[jpki.MALFORMED]))


def begin_signing(
    *,
    user,
    origin: str,
    payload: dict[str, Any],
    return_url: str,
    retry_url: str,
    callback_url: str,
    request=None,
) -> str:
    """Register the canonical bytes of `payload` with the platform and return the address the
    resident's browser goes to, to sign them with the card."""
    conf = platform.config()
    if not conf.signing_enabled:
        raise ValidationError(
            gettext("この市ではマイナンバーカードによるオンライン署名を利用できません。"),
            code="unavailable",
        )
    canonical = jpki.canonical_bytes(payload)
    digest = jpki.digest_of(canonical)
    try:
        transaction_id = platform.start_sign_transaction(digest=digest, conf=conf)
    except platform.PlatformError as exc:
        audit.record(
            action="identity.signing_unavailable",
            actor=user,
            object_type="signature",
            object_id=origin,
            request=request,
            details={"error": str(exc)[:300]},
        )
        raise ValidationError(refusal_message(PLATFORM), code=PLATFORM) from exc
    verifier, challenge = platform.pkce_pair()
    state = secrets.token_urlsafe(32)
    with transaction.atomic():
        SigningRequest.objects.filter(
            user=user, origin=origin, state=SigningRequest.State.PENDING
        ).update(
            state=SigningRequest.State.CANCELLED,
            finished_at=timezone.now(),
            code_verifier="",
            refusal_code="superseded",
        )
        SigningRequest.objects.create(
            user=user,
            origin=origin,
            canonical=canonical.decode("utf-8"),
            digest=digest.hex(),
            state_token=state,
            code_verifier=verifier,
            transaction_id=transaction_id,
            return_url=return_url,
            retry_url=retry_url,
        )
        audit.record(
            action="identity.signing_started",
            actor=user,
            object_type="signature",
            object_id=origin,
            request=request,
            details={"digest": digest.hex(), "transaction_id": transaction_id},
        )
    return platform.signing_authorization_url(
        transaction_id=transaction_id,
        state=state,
        code_challenge=challenge,
        redirect_uri=callback_url,
    )


def _finish(signing_request: SigningRequest, *, state: str, code: str = "") -> None:
    SigningRequest.objects.filter(pk=signing_request.pk).update(
        state=state, refusal_code=code, finished_at=timezone.now(), code_verifier=""
    )


def _refuse(signing_request: SigningRequest, code: str, *, user, request, detail: str = ""):
    _finish(signing_request, state=SigningRequest.State.REFUSED, code=code)
    audit.record(
        action="identity.signature_refused",
        actor=user,
        object_type="signature",
        object_id=signing_request.origin,
        request=request,
        details={
            "reason": code,
            "detail": detail[:300],
            "digest": signing_request.digest,
            "transaction_id": signing_request.transaction_id,
        },
    )
    return SigningFailed(code, refusal_message(code), signing_request)


def complete_signing(
    *, user, state: str, code: str, error: str, callback_url: str, request=None
) -> tuple[SigningRequest, Signature]:
    """Finish the flow the platform redirected back from: fetch the signature, verify it, store
    it and let the owning app rely on it, all or nothing. Raises SigningFailed."""
    signing_request = SigningRequest.objects.filter(
        state_token=state or "-", user=user, state=SigningRequest.State.PENDING
    ).first()
    if signing_request is None:
        audit.record(
            action="identity.signature_refused",
            actor=user,
            object_type="signature",
            request=request,
            details={"reason": UNKNOWN_FLOW},
        )
        raise SigningFailed(UNKNOWN_FLOW, refusal_message(UNKNOWN_FLOW))
    if error or not code:
        _finish(signing_request, state=SigningRequest.State.CANCELLED, code=error or CANCELLED)
        audit.record(
            action="identity.signing_cancelled",
            actor=user,
            object_type="signature",
            object_id=signing_request.origin,
            request=request,
            details={"error": error},
        )
        raise SigningFailed(CANCELLED, refusal_message(CANCELLED), signing_request)
    try:
        result = platform.fetch_sign_result(
            code=code,
            code_verifier=signing_request.code_verifier,
            redirect_uri=callback_url,
            transaction_id=signing_request.transaction_id,
        )
        anchors = platform.trust_anchors()
        fetched = platform.current_crl()
    except platform.PlatformError as exc:
        raise _refuse(
            signing_request, PLATFORM, user=user, request=request, detail=str(exc)
        ) from exc
    now = timezone.now()
    try:
        verified = jpki.verify(
            data=signing_request.canonical.encode("utf-8"),
            signature=result.signature,
            certificate=result.certificate,
            trust_anchors=anchors,
            crl=fetched.crl,
            at=now,
        )
    except jpki.SignatureRefused as refused:
        raise _refuse(
            signing_request, refused.code, user=user, request=request, detail=refused.detail
        ) from refused
    if verified.digest.hex() != signing_request.digest:
        raise _refuse(signing_request, jpki.TAMPERED, user=user, request=request)
    try:
        with transaction.atomic():
            locked = SigningRequest.objects.select_for_update().get(pk=signing_request.pk)
            if locked.state != SigningRequest.State.PENDING:
                raise SigningFailed(UNKNOWN_FLOW, refusal_message(UNKNOWN_FLOW), locked)
            facts = verified.facts
            signature = Signature.objects.create(
                origin=locked.origin,
                user=user,
                canonical=locked.canonical,
                digest=locked.digest,
                signature=result.signature,
                certificate_pem=verified.certificate.public_bytes(
                    serialization.Encoding.PEM
                ).decode(),
                certificate_serial=verified.serial_hex,
                certificate_issuer=verified.issuer,
                certificate_not_after=verified.certificate.not_valid_after_utc,
                signer_name=facts.name,
                signer_address=facts.address,
                signer_birth_date=facts.birth_date,
                signer_sex=facts.sex,
                revocation_status=verified.revocation.status,
                revocation_source=fetched.source,
                crl_number=str(verified.revocation.crl_number or ""),
                crl_this_update=verified.revocation.this_update,
                transaction_id=locked.transaction_id,
                signed_at=locked.created_at,
                verified_at=now,
            )
            signing.hook_for(locked.origin).on_signed(
                origin=locked.origin, signature=signature, actor=user
            )
            _finish(locked, state=SigningRequest.State.VERIFIED)
            audit.record(
                action="identity.signature_verified",
                actor=user,
                obj=signature,
                request=request,
                details={
                    "origin": locked.origin,
                    "digest": locked.digest,
                    "certificate_serial": signature.certificate_serial,
                    "crl_number": signature.crl_number,
                },
            )
    except ValidationError as exc:
        message = " ".join(exc.messages)
        failed = _refuse(
            signing_request,
            exc.code or "refused_by_owner",
            user=user,
            request=request,
            detail=message,
        )
        failed.message = message
        raise failed from exc
    return signing_request, signature
