"""電子申請: the procedure catalogue, versioned forms, applications and their cases, certificates."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from . import workflow


def private_storage() -> FileSystemStorage:
    """Files outside the web root, served only through views that check who asks."""
    return FileSystemStorage(location=settings.PRIVATE_STORAGE_ROOT)


class Department(models.TextChoices):
    """The 20 standardised businesses (標準化対象20業務)."""

    JUKI = "juki", _("住民基本台帳")
    ELECTION = "election", _("選挙人名簿管理")
    FIXED_ASSET_TAX = "fixed_asset_tax", _("固定資産税")
    INDIVIDUAL_TAX = "individual_tax", _("個人住民税")
    CORPORATE_TAX = "corporate_tax", _("法人住民税")
    LIGHT_VEHICLE_TAX = "light_vehicle_tax", _("軽自動車税")
    NHI = "nhi", _("国民健康保険")
    PENSION = "pension", _("国民年金")
    DISABILITY = "disability", _("障害者福祉")
    ELDERLY_MEDICAL = "elderly_medical", _("後期高齢者医療")
    LONG_TERM_CARE = "long_term_care", _("介護保険")
    CHILD_ALLOWANCE = "child_allowance", _("児童手当")
    HEALTH = "health", _("健康管理")
    SCHOOLING = "schooling", _("就学")
    CHILD_SUPPORT = "child_support", _("児童扶養手当")
    WELFARE = "welfare", _("生活保護")
    CHILDCARE = "childcare", _("子ども・子育て支援")
    SEAL = "seal", _("印鑑登録")
    KOSEKI = "koseki", _("戸籍")
    KOSEKI_FUHYO = "koseki_fuhyo", _("戸籍の附票")
    OTHER = "other", _("その他の業務")


class LifeEvent(models.TextChoices):
    MOVING = "moving", _("引越し")
    BIRTH = "birth", _("出産")
    CHILD_CARE = "child_care", _("子育て")
    DEATH = "death", _("おくやみ")
    TAX = "tax", _("税")
    HOUSING = "housing", _("住まい")
    BUSINESS = "business", _("事業")


class CertificateKind(models.TextChoices):
    RESIDENCE = "residence", _("住民票の写し")
    SEAL = "seal", _("印鑑登録証明書")
    TAX = "tax", _("課税証明書")


class Category(models.TextChoices):
    """What kind of procedure it is, as the catalogue groups it for residents."""

    NOTIFICATION = "notification", _("届出")
    APPLICATION = "application", _("申請・請求")
    CERTIFICATE = "certificate", _("証明書の交付")
    REGISTRATION = "registration", _("登録")
    BOOKING = "booking", _("申込み・予約")
    OTHER = "other", _("その他")


class Channels(models.TextChoices):
    """Where a procedure may be filed."""

    ONLINE = "online", _("オンラインのみ")
    COUNTER = "counter", _("窓口のみ")
    BOTH = "both", _("オンラインと窓口")


class FeeRule(models.TextChoices):
    """How the fee is worked out (procedures.formschema.fee_for)."""

    NONE = "none", _("手数料なし")
    FIXED = "fixed", _("定額")
    PER_COPY = "per_copy", _("1通あたりの額 × 通数")
    BY_CHOICE = "by_choice", _("選んだ項目ごとの額")


class IdentityLevel(models.TextChoices):
    """What a resident must show to file a procedure online (本人確認の水準)."""

    ACCOUNT = "account", _("アカウントのみ")
    LINKED = "linked", _("住民記録と連携したアカウント")
    # 住民票の写し等をオンラインで請求するときの本人確認は、電子署名と署名用電子証明書による
    # (情報通信技術を活用した行政の推進等に関する法律6条、総務省関係の同法施行規則)。
    JPKI = "jpki", _("マイナンバーカードの電子署名")


# Certificates the law lets a city issue on an online request only with a JPKI signature.
JPKI_CERTIFICATE_KINDS = ("residence", "seal", "tax")


class Procedure(models.Model):
    slug = models.SlugField(_("識別子"), max_length=60, unique=True)
    name_ja = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("名称（英語）"), max_length=150, blank=True)
    description_ja = models.TextField(_("説明"), blank=True)
    description_en = models.TextField(_("説明（英語）"), blank=True)
    category = models.CharField(
        _("分類"), max_length=20, choices=Category.choices, default=Category.APPLICATION
    )
    department = models.CharField(_("業務"), max_length=30, choices=Department.choices)
    life_events = ArrayField(
        models.CharField(max_length=20, choices=LifeEvent.choices),
        verbose_name=_("ライフイベント"),
        default=list,
        blank=True,
    )
    fee_rule = models.CharField(
        _("手数料の決め方"), max_length=20, choices=FeeRule.choices, default=FeeRule.NONE
    )
    # The amount of a fixed fee, of one copy, or the base added to the chosen items' fees.
    fee_yen = models.BigIntegerField(_("手数料（円）"), null=True, blank=True)
    # The revenue (歳入科目, payments.Revenue.code) the fee is collected under.
    fee_revenue = models.CharField(_("手数料の歳入科目"), max_length=30, blank=True)
    required_attachments = models.JSONField(
        _("必要な添付書類"), default=list, blank=True, help_text=_("書類名の一覧")
    )
    certificate_kind = models.CharField(
        _("交付する証明書"), max_length=20, choices=CertificateKind.choices, blank=True
    )
    processing_days = models.PositiveSmallIntegerField(_("標準処理期間（開庁日）"), default=5)
    channels = models.CharField(
        _("受け付ける方法"), max_length=10, choices=Channels.choices, default=Channels.BOTH
    )
    # Where and when a counter-only procedure is done (shown on the life-event checklists).
    counter_place_ja = models.CharField(_("受付窓口と時間"), max_length=200, blank=True)
    counter_place_en = models.CharField(_("受付窓口と時間（英語）"), max_length=200, blank=True)
    name_kana = models.CharField(
        _("名称の読み（カタカナ）"),
        max_length=150,
        blank=True,
        help_text=_("じゅうみんひょう・ジュウミンヒョウで探せるように"),
    )
    keywords = models.CharField(
        _("別の言い方"),
        max_length=300,
        blank=True,
        help_text=_("検索で見つけてほしい言葉を空白で区切って（例: 引越し 住所変更）"),
    )
    # Place on the life-event checklists: what comes first is done first (転出 before 転入).
    checklist_order = models.PositiveSmallIntegerField(_("チェックリストでの順番"), default=100)
    identity_level = models.CharField(
        _("オンライン申請に必要な本人確認"),
        max_length=10,
        choices=IdentityLevel.choices,
        default=IdentityLevel.LINKED,
    )
    is_active = models.BooleanField(_("公開中"), default=True)
    # Normalised names, reading, keywords and descriptions (cityhall.japanese.search_key) for
    # keyword search; search_names holds "|name|english name|reading|" to rank exact names first.
    search_text = models.TextField(_("検索用テキスト"), editable=False, default="")
    search_names = models.TextField(_("検索用の名称"), editable=False, default="")

    class Meta:
        verbose_name = _("手続")
        verbose_name_plural = _("手続")
        ordering = ["department", "name_ja"]
        indexes = [
            GinIndex(
                fields=["search_text"], name="procedure_search_trgm", opclasses=["gin_trgm_ops"]
            ),
            GinIndex(fields=["life_events"], name="procedure_life_events"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_yen__isnull=True) | Q(fee_yen__gte=0),
                name="procedure_fee_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(identity_level__in=["account", "linked", "jpki"]),
                name="procedure_identity_level_known",
            ),
            models.CheckConstraint(
                condition=Q(channels__in=["online", "counter", "both"]),
                name="procedure_channels_known",
            ),
            models.CheckConstraint(
                condition=Q(fee_rule__in=["none", "fixed", "per_copy", "by_choice"]),
                name="procedure_fee_rule_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name_ja

    def name(self, lang: str = "ja") -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_ja

    def description(self, lang: str = "ja") -> str:
        return self.description_en if lang == "en" and self.description_en else self.description_ja

    @property
    def counter_only(self) -> bool:
        return self.channels == Channels.COUNTER

    @counter_only.setter
    def counter_only(self, value: bool) -> None:
        # Kept for code written before channels: Procedure(counter_only=True) still works.
        if value:
            self.channels = Channels.COUNTER
        elif self.channels == Channels.COUNTER:
            self.channels = Channels.BOTH

    @property
    def online_only(self) -> bool:
        return self.channels == Channels.ONLINE

    def fee(self, definition: dict, answers: dict) -> int:
        """The fee for these answers, by the procedure's fee rule."""
        from .formschema import fee_for

        return fee_for(definition, answers, rule=self.fee_rule, amount=self.fee_yen or 0)

    @property
    def needs_signature(self) -> bool:
        return self.identity_level == IdentityLevel.JPKI

    @property
    def display_counter_place(self) -> str:
        english = _current_lang() == "en" and self.counter_place_en
        return self.counter_place_en if english else self.counter_place_ja

    @property
    def display_name(self) -> str:
        """The name in the language of the page being drawn (English where there is one)."""
        return self.name(_current_lang())

    @property
    def display_description(self) -> str:
        return self.description(_current_lang())


def _state_label(state: str) -> str:
    """A state in words (申請済み / Submitted), never its code."""
    return str(Application.State(state).label) if state in workflow.STATES else ""


def _current_lang() -> str:
    return "en" if (get_language() or "ja").startswith("en") else "ja"


class FormDefinition(models.Model):
    """One version of a procedure's form. Every save of the designer is a new version; what a
    version holds never changes (a trigger refuses it), and once published nothing about it does.
    Publishing takes a second person holding publish_formdefinition (four eyes: approved_by is
    never the one who saved it), now or on a date (publish_on, published by the beat job)."""

    procedure = models.ForeignKey(
        Procedure, verbose_name=_("手続"), on_delete=models.PROTECT, related_name="forms"
    )
    version = models.PositiveIntegerField(_("版"))
    definition = models.JSONField(_("定義"))
    published_at = models.DateTimeField(_("公開日時"), null=True, blank=True)
    publish_on = models.DateField(_("公開予定日"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("公開を承認した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("公開を承認した日時"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作成者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("申請書様式")
        verbose_name_plural = _("申請書様式")
        ordering = ["procedure", "-version"]
        permissions = [("publish_formdefinition", _("様式の版を公開する"))]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "version"], name="form_version_unique"),
            # Four eyes: the person who saved a version never approves its publication.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | Q(created_by__isnull=True)
                | ~Q(approved_by=models.F("created_by")),
                name="form_publisher_is_not_author",
            ),
            models.CheckConstraint(
                condition=Q(publish_on__isnull=True) | Q(approved_by__isnull=False),
                name="form_schedule_is_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_scheduled(self) -> bool:
        return self.published_at is None and self.publish_on is not None


class Application(models.Model):
    class State(models.TextChoices):
        DRAFT = workflow.DRAFT, _("下書き")
        SUBMITTED = workflow.SUBMITTED, _("申請済み")
        AWAITING_PAYMENT = workflow.AWAITING_PAYMENT, _("手数料のお支払い待ち")
        IN_REVIEW = workflow.IN_REVIEW, _("審査中")
        CORRECTION_REQUESTED = workflow.CORRECTION_REQUESTED, _("補正依頼中")
        RESUBMITTED = workflow.RESUBMITTED, _("再提出済み")
        APPROVED = workflow.APPROVED, _("承認")
        REJECTED = workflow.REJECTED, _("却下")
        WITHDRAWN = workflow.WITHDRAWN, _("取下げ")
        COMPLETED = workflow.COMPLETED, _("完了")

    reference = models.CharField(_("受付番号"), max_length=20, unique=True)
    procedure = models.ForeignKey(
        Procedure, verbose_name=_("手続"), on_delete=models.PROTECT, related_name="applications"
    )
    form = models.ForeignKey(
        FormDefinition,
        verbose_name=_("様式の版"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant = models.ForeignKey(
        "residents.Resident", verbose_name=_("申請者"), on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申請した利用者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="procedure_applications",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("窓口で受け付けた職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    counter_confirmed_at = models.DateTimeField(_("窓口で本人確認した日時"), null=True, blank=True)
    # My Numbers typed into mynumber fields, sealed with the vault's keys (field id -> number as
    # JSON); `answers` holds only their masks (procedures.services.filing._store_answers).
    sealed_mynumbers = models.BinaryField(
        _("個人番号（暗号化）"), null=True, blank=True, editable=False
    )
    # The マイナンバーカード signature the resident gave at submission (identity level jpki).
    signature = models.ForeignKey(
        "identity.Signature",
        verbose_name=_("申請の電子署名"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answers = models.JSONField(_("回答"), default=dict, blank=True)
    state = models.CharField(_("状態"), max_length=24, choices=State.choices, default=State.DRAFT)
    fee_yen = models.BigIntegerField(_("手数料（円）"), default=0)
    charge_id = models.BigIntegerField(_("賦課ID"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("担当職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("申請日時"), null=True, blank=True)
    due_on = models.DateField(_("処理期限"), null=True, blank=True)
    # An approved certificate request whose certificate did not come out: the beat job
    # (procedures.retry_stuck_certificates) counts its re-queues here, then flags the case.
    certificate_attempts = models.PositiveSmallIntegerField(_("証明書発行の再試行回数"), default=0)
    certificate_retried_at = models.DateTimeField(
        _("証明書発行の再試行日時"), null=True, blank=True
    )
    certificate_error = models.CharField(_("証明書発行の失敗理由"), max_length=500, blank=True)
    needs_attention_since = models.DateTimeField(_("要対応となった日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("申請")
        verbose_name_plural = _("申請")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "due_on"], name="application_queue_idx"),
            models.Index(fields=["user", "state"], name="application_user_idx"),
            models.Index(
                fields=["needs_attention_since"],
                name="application_attention_idx",
                condition=Q(needs_attention_since__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=list(workflow.STATES)), name="application_state_known"
            ),
            models.CheckConstraint(
                condition=Q(fee_yen__gte=0), name="application_fee_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def origin(self) -> str:
        """The key of this application's fee charge in payments."""
        return f"procedures.application:{self.pk}"

    @property
    def is_counter_filing(self) -> bool:
        return self.filed_by_id is not None

    @property
    def is_open(self) -> bool:
        """Not yet finished (rejected, withdrawn or completed); drafts count as open."""
        return self.state not in workflow.FINAL_STATES

    @property
    def needs_attention(self) -> bool:
        return self.needs_attention_since is not None and self.state == workflow.APPROVED


class CaseEvent(models.Model):
    """One transition (or assignment) of an application. Append-only (a trigger refuses changes)."""

    application = models.ForeignKey(
        Application, verbose_name=_("申請"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作した人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    from_state = models.CharField(_("変更前"), max_length=24, blank=True)
    to_state = models.CharField(_("変更後"), max_length=24)
    comment = models.TextField(_("コメント"), blank=True)
    visible_to_applicant = models.BooleanField(_("申請者に表示"), default=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("処理履歴")
        verbose_name_plural = _("処理履歴")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.from_state}→{self.to_state}"

    @property
    def from_label(self) -> str:
        return _state_label(self.from_state)

    @property
    def to_label(self) -> str:
        return _state_label(self.to_state)

    # The names the staff templates use.
    from_state_label = from_label
    to_state_label = to_label

    @property
    def changes_state(self) -> bool:
        """False for a note in the history (an assignment, a retried certificate)."""
        return self.from_state != self.to_state


class Attachment(models.Model):
    application = models.ForeignKey(
        Application, verbose_name=_("申請"), on_delete=models.CASCADE, related_name="attachments"
    )
    field_id = models.CharField(_("項目"), max_length=40)
    file = models.FileField(_("ファイル"), storage=private_storage, upload_to="attachments/%Y/%m/")
    original_name = models.CharField(_("元のファイル名"), max_length=200)
    content_type = models.CharField(_("種類"), max_length=60)
    size = models.PositiveIntegerField(_("大きさ（バイト）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添付した人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("添付日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("添付書類")
        verbose_name_plural = _("添付書類")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/png", "image/jpeg"]),
                name="attachment_type_accepted",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name


class SealRegistration(models.Model):
    """印鑑登録 (the residents app keeps no seal register, so procedures does)."""

    resident = models.ForeignKey(
        "residents.Resident", verbose_name=_("住民"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("登録番号"), max_length=20, unique=True)
    registered_on = models.DateField(_("登録日"))
    impression_svg = models.TextField(_("印影（SVG）"))
    revoked_on = models.DateField(_("廃止日"), null=True, blank=True)

    class Meta:
        verbose_name = _("印鑑登録")
        verbose_name_plural = _("印鑑登録")
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(revoked_on__isnull=True),
                name="one_active_seal_per_resident",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Certificate(models.Model):
    """An issued certificate PDF. One per application (unique), so issuing twice issues once."""

    application = models.OneToOneField(
        Application, verbose_name=_("申請"), on_delete=models.PROTECT, related_name="certificate"
    )
    kind = models.CharField(_("種類"), max_length=20, choices=CertificateKind.choices)
    issue_number = models.CharField(_("発行番号"), max_length=30, unique=True)
    verification_code = models.CharField(_("照合番号"), max_length=19, unique=True)
    issued_at = models.DateTimeField(_("発行日時"))
    # What the certificate certifies, as printed: shown on /verify/<code>, nothing more.
    summary = models.JSONField(_("証明内容の要約"), default=dict)
    file = models.FileField(_("PDF"), storage=private_storage, upload_to="certificates/%Y/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # Printed My Number (個人番号): only its applicant, or staff holding reveal_mynumber, may
    # download it (番号法19条).
    shows_mynumber = models.BooleanField(_("個人番号の記載"), default=False)
    # The file is sealed with the My Number key ring (procedures/certificates/storage.py); rows
    # from before sealing are False until `rotate_mynumber_keys` seals them.
    sealed = models.BooleanField(_("暗号化済み"), default=False)
    # The signature that authorised issuing it (the application's, at the time it was issued).
    signature = models.ForeignKey(
        "identity.Signature",
        verbose_name=_("交付請求の電子署名"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("証明書")
        verbose_name_plural = _("証明書")

    def __str__(self) -> str:
        return self.issue_number
