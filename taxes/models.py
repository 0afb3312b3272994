"""個人住民税: employers and their salary reports, residents' declarations, assessment runs, the
assessments (one row per version: 当初 then each 更正), and the 特別徴収 schedules.

Invariants the database keeps: one live declaration per resident and fiscal year, one current
assessment per resident and fiscal year, versions numbered without gaps by the services and unique
here, assessments and corrections append-only (a trigger refuses UPDATE of their figures and any
DELETE, migration ``0002``), twelve non-negative monthly amounts per 特別徴収 schedule.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Employer(models.Model):
    """特別徴収義務者: an employer that reports salaries and deducts resident tax from them."""

    number = models.CharField(_("特別徴収義務者指定番号"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    address = models.CharField(_("所在地"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("特別徴収義務者")
        verbose_name_plural = _("特別徴収義務者")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class SalaryReportImport(models.Model):
    """One CSV of 給与支払報告書 imported (once per file digest), with the lines it could not use."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    file_name = models.CharField(_("ファイル名"), max_length=200)
    line_count = models.PositiveIntegerField(_("行数"), default=0)
    imported_count = models.PositiveIntegerField(_("取り込んだ件数"), default=0)
    # [{"line": 3, "reason": "…"}]: shown to the clerk, who fixes the file or the register.
    problems = models.JSONField(_("取り込めなかった行"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("取り込んだ職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("取込日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("給与支払報告書の取込")
        verbose_name_plural = _("給与支払報告書の取込")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name


class SalaryReport(models.Model):
    """給与支払報告書 (地方税法317条の6): one employee's salary of one year from one employer."""

    class Collection(models.TextChoices):
        SPECIAL = "special", _("特別徴収")
        ORDINARY = "ordinary", _("普通徴収")

    income_year = models.PositiveSmallIntegerField(_("支払年"))
    employer = models.ForeignKey(
        Employer, verbose_name=_("支払者"), on_delete=models.PROTECT, related_name="reports"
    )
    resident = models.ForeignKey(
        "residents.Resident", verbose_name=_("受給者"), on_delete=models.PROTECT, related_name="+"
    )
    payment = models.BigIntegerField(_("支払金額"))
    social_insurance = models.BigIntegerField(_("社会保険料等の金額"), default=0)
    life_insurance = models.JSONField(_("生命保険料の金額"), default=dict, blank=True)
    earthquake_insurance = models.BigIntegerField(_("地震保険料の金額"), default=0)
    housing_loan_credit = models.BigIntegerField(
        _("住宅借入金等特別控除の控除しきれなかった額"), default=0
    )
    # Spouse and dependants as the report names them: [{"kana", "birth_date", "income",
    # "disability"}]; they need not live in this city.
    spouse = models.JSONField(_("配偶者"), null=True, blank=True)
    dependants = models.JSONField(_("扶養親族"), default=list, blank=True)
    personal = models.JSONField(_("本人の区分"), default=dict, blank=True)
    collection = models.CharField(_("徴収方法"), max_length=10, choices=Collection.choices)
    left_on = models.DateField(_("退職日"), null=True, blank=True)
    source = models.ForeignKey(
        SalaryReportImport,
        verbose_name=_("取込"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    line_no = models.PositiveIntegerField(_("行番号"))

    class Meta:
        verbose_name = _("給与支払報告書")
        verbose_name_plural = _("給与支払報告書")
        constraints = [
            models.UniqueConstraint(
                fields=["employer", "income_year", "resident"], name="salary_report_once"
            ),
            models.CheckConstraint(condition=Q(payment__gte=0), name="salary_report_payment"),
        ]
        indexes = [models.Index(fields=["resident", "income_year"], name="salary_report_resident")]

    def __str__(self) -> str:
        return f"{self.employer_id} {self.income_year} {self.resident_id}"


class Declaration(models.Model):
    """住民税申告 (地方税法317条の2): what a resident declares for a fiscal year, by topic.

    The case (reference, state, attachments, the clerk's decision) is an application of the
    ``jumin-shinkoku`` procedure; ``status`` follows it through procedures' case-kind hook.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("作成中")
        SUBMITTED = "submitted", _("申告済み")
        RETURNED = "returned", _("補正依頼中")
        ACCEPTED = "accepted", _("受理")
        REJECTED = "rejected", _("不受理")
        WITHDRAWN = "withdrawn", _("取下げ")

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("申告者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(
        _("状態"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    application = models.OneToOneField(
        "procedures.Application",
        verbose_name=_("申請"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("申告内容"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("申告日時"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    # Declarations an assessment reads: filed and not withdrawn or rejected.
    COUNTED = (Status.SUBMITTED, Status.RETURNED, Status.ACCEPTED)

    class Meta:
        verbose_name = _("住民税申告")
        verbose_name_plural = _("住民税申告")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "fiscal_year"],
                condition=~Q(status__in=["withdrawn", "rejected"]),
                name="one_live_declaration_per_year",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "returned",
                        "accepted",
                        "rejected",
                        "withdrawn",
                    ]
                ),
                name="declaration_status_known",
            ),
        ]
        indexes = [models.Index(fields=["fiscal_year", "status"], name="declaration_year_status")]

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.resident_id}"


class DeclarationCorrection(models.Model):
    """A clerk's correction of a declaration: what changed and why. Append-only (trigger)."""

    declaration = models.ForeignKey(
        Declaration,
        verbose_name=_("住民税申告"),
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修正した職員"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("理由"), max_length=200)
    before = models.JSONField(_("修正前"))
    after = models.JSONField(_("修正後"))
    created_at = models.DateTimeField(_("修正日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("申告の修正")
        verbose_name_plural = _("申告の修正")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.declaration_id} {self.created_at:%Y-%m-%d}"


class AssessmentRun(models.Model):
    """One assessment run (当初課税 or a re-run after corrections): progress, counts, where to
    resume. The same fiscal year, kind and parameters are one run."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("当初課税")
        RECOMPUTE = "recompute", _("再計算（更正）")

    class State(models.TextChoices):
        PENDING = "pending", _("待機")
        RUNNING = "running", _("実行中")
        SUCCEEDED = "succeeded", _("完了")
        FAILED = "failed", _("失敗")

    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("種類"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("状態"), max_length=10, choices=State.choices, default=State.PENDING)
    input_digest = models.CharField(_("条件ダイジェスト"), max_length=64)
    params = models.JSONField(_("条件"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("対象者数"), default=0)
    processed = models.PositiveIntegerField(_("処理済み"), default=0)
    # The last resident id done: chunks go in id order, so a resumed run starts after it.
    cursor = models.BigIntegerField(_("再開位置"), default=0)
    assessed_count = models.PositiveIntegerField(_("課税（新しい版）"), default=0)
    changed_count = models.PositiveIntegerField(_("更正"), default=0)
    unchanged_count = models.PositiveIntegerField(_("変更なし"), default=0)
    exempt_count = models.PositiveIntegerField(_("非課税"), default=0)
    failed_count = models.PositiveIntegerField(_("計算できなかった人"), default=0)
    levy_total = models.BigIntegerField(_("税額合計（新しい版）"), default=0)
    billed = models.BooleanField(_("調定済み"), default=False)
    error = models.TextField(_("エラー"), blank=True)
    problems = models.JSONField(_("計算できなかった人と理由"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("実行者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("課税処理")
        verbose_name_plural = _("課税処理")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "kind", "input_digest"], name="assessment_run_once"
            ),
            models.CheckConstraint(
                condition=Q(processed__lte=F("total")), name="assessment_run_progress"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.fiscal_year} #{self.pk}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.processed * 100 // self.total)


class RunTaxpayer(models.Model):
    """Who a run assesses, fixed when it starts (so its progress is counted against a known
    population, and each chunk is the next ids of this table's index, not a search)."""

    run = models.ForeignKey(
        AssessmentRun,
        verbose_name=_("課税処理"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique (run, resident_id) index starts with it
    )
    resident_id = models.BigIntegerField(_("住民ID"))

    class Meta:
        verbose_name = _("課税処理の対象者")
        verbose_name_plural = _("課税処理の対象者")
        constraints = [
            models.UniqueConstraint(fields=["run", "resident_id"], name="run_taxpayer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.resident_id}"


class Assessment(models.Model):
    """One version of a resident's assessment for a fiscal year: the inputs, the rule version,
    every figure, and how it is collected. A 更正 is a new version; old versions stay."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("当初課税")
        CORRECTION = "correction", _("更正")

    class Collection(models.TextChoices):
        ORDINARY = "ordinary", _("普通徴収")
        SPECIAL = "special", _("特別徴収")
        NONE = "none", _("税額なし")

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("納税義務者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版"))
    kind = models.CharField(_("種類"), max_length=12, choices=Kind.choices)
    is_current = models.BooleanField(_("現在の版"), default=True)
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    run = models.ForeignKey(
        AssessmentRun,
        verbose_name=_("課税処理"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
    )
    declaration = models.ForeignKey(
        Declaration,
        verbose_name=_("住民税申告"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assessments",
        db_index=False,
    )
    rule_version = models.CharField(_("計算規則の版"), max_length=20)
    grade = models.PositiveSmallIntegerField(_("級地"), default=1)
    designated_city = models.BooleanField(_("指定都市"), default=False)
    # residenttax.Declaration as a dict, and residenttax.Assessment as a dict.
    inputs = models.JSONField(_("計算の基礎"))
    result = models.JSONField(_("計算結果"))
    total_income = models.BigIntegerField(_("合計所得金額"))
    taxable = models.BigIntegerField(_("課税標準額"))
    income_levy = models.BigIntegerField(_("所得割額"))
    per_capita = models.BigIntegerField(_("均等割額"))
    forest_tax = models.BigIntegerField(_("森林環境税"))
    total = models.BigIntegerField(_("年税額"))
    exempt_income_levy = models.BooleanField(_("所得割非課税"), default=False)
    exempt_per_capita = models.BooleanField(_("均等割非課税"), default=False)
    collection = models.CharField(_("徴収方法"), max_length=10, choices=Collection.choices)
    employer = models.ForeignKey(
        Employer,
        verbose_name=_("特別徴収義務者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # {"ordinary": [4 amounts], "special": [12 amounts]} as set by this version.
    schedule = models.JSONField(_("納期ごとの税額"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("処理した職員"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("税額決定")
        verbose_name_plural = _("税額決定")
        ordering = ["resident", "-fiscal_year", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "fiscal_year", "version"], name="assessment_version_unique"
            ),
            models.UniqueConstraint(
                fields=["resident", "fiscal_year"],
                condition=Q(is_current=True),
                name="one_current_assessment",
            ),
            models.CheckConstraint(
                condition=Q(total=F("income_levy") + F("per_capita") + F("forest_tax")),
                name="assessment_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(income_levy__gte=0) & Q(per_capita__gte=0) & Q(forest_tax__gte=0),
                name="assessment_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(exempt_income_levy=True) | Q(income_levy=0),
                name="exempt_means_no_income_levy",
            ),
        ]
        indexes = [
            models.Index(
                fields=["fiscal_year", "collection"],
                condition=Q(is_current=True),
                name="assessment_current_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.resident_id} v{self.version}"

    @property
    def status_key(self) -> str:
        """課税 / 均等割のみ / 非課税 (the list page's status)."""
        if self.exempt_per_capita:
            return "exempt"
        if self.exempt_income_levy:
            return "per_capita_only"
        return "taxed"


class SpecialCollection(models.Model):
    """特別徴収税額 of one resident and fiscal year with one employer: twelve monthly amounts
    (June to May). When it ends (退職, 転職, 転出) ``stopped_after`` counts the months the employer
    still deducted; the rest went to 普通徴収 (地方税法321条の7)."""

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("納税義務者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    employer = models.ForeignKey(
        Employer,
        verbose_name=_("特別徴収義務者"),
        on_delete=models.PROTECT,
        related_name="collections",
    )
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("税額決定"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    months = ArrayField(models.BigIntegerField(), size=12, verbose_name=_("月割額（6月〜翌年5月）"))
    stopped_after = models.PositiveSmallIntegerField(_("徴収した月数"), null=True, blank=True)
    stop_reason = models.CharField(_("普通徴収への切替理由"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("特別徴収税額")
        verbose_name_plural = _("特別徴収税額")
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "fiscal_year"], name="one_special_collection_per_year"
            ),
            models.CheckConstraint(
                condition=Q(stopped_after__isnull=True) | Q(stopped_after__lte=12),
                name="special_stopped_within_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_year} {self.resident_id} {self.employer_id}"

    @property
    def active_months(self) -> list[int]:
        """The amounts the employer deducts (all twelve, or those before it stopped)."""
        if self.stopped_after is None:
            return list(self.months)
        return list(self.months[: self.stopped_after]) + [0] * (12 - self.stopped_after)

    @property
    def total(self) -> int:
        return sum(self.active_months)


class TaxCharge(models.Model):
    """A charge payments holds for this tax: which resident, fiscal year and why (the initial
    普通徴収, an increase after the last due date, a remainder moved from 特別徴収)."""

    class Purpose(models.TextChoices):
        ORDINARY = "ordinary", _("普通徴収")
        EXTRA = "extra", _("更正による追加")
        MOVED = "moved", _("特別徴収からの切替")

    resident = models.ForeignKey(
        "residents.Resident",
        verbose_name=_("納税義務者"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fiscal_year = models.PositiveSmallIntegerField(_("年度"))
    origin = models.CharField(_("調定の発生元"), max_length=120, unique=True)
    purpose = models.CharField(_("目的"), max_length=10, choices=Purpose.choices)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("住民税の調定")
        verbose_name_plural = _("住民税の調定")
        indexes = [models.Index(fields=["resident", "fiscal_year"], name="tax_charge_resident")]

    def __str__(self) -> str:
        return self.origin
