"""The standard revenues (歳入科目) every city has; created by a data migration and by the seed.

Schedules are the nominal due dates (month, day) within the fiscal year, as the model ordinances
(市税条例) set them; the billing run moves a date that falls on a closed day.
"""

from __future__ import annotations

MONTHLY_JUNE_TO_MARCH = [
    [6, 30], [7, 31], [8, 31], [9, 30], [10, 31], [11, 30], [12, 25], [1, 31], [2, 28], [3, 31]
]  # fmt: skip

# code: (slip code, name ja, name en, kind, first period months, bears late charge, schedule)
STANDARD_REVENUES: dict[str, tuple] = {
    "resident_tax": ("01", "個人住民税", "Individual resident tax", "tax", 1, True,
                     [[6, 30], [8, 31], [10, 31], [1, 31]]),
    "fixed_asset_tax": ("02", "固定資産税", "Fixed-asset tax", "tax", 1, True,
                        [[4, 30], [7, 31], [12, 25], [2, 28]]),
    "light_vehicle_tax": ("03", "軽自動車税", "Light vehicle tax", "tax", 1, True, [[5, 31]]),
    "nhi": ("04", "国民健康保険料", "National health insurance premium", "premium", 3, True,
            MONTHLY_JUNE_TO_MARCH),
    "care_insurance": ("05", "介護保険料", "Long-term care insurance premium", "premium", 3, True,
                       MONTHLY_JUNE_TO_MARCH),
    "water": ("06", "上下水道料金", "Water and sewer charges", "charge", 1, False, []),
    "nursery": ("07", "保育料", "Nursery fees", "charge", 1, False, []),
    "fee": ("08", "手数料", "Certificate and application fees", "fee", 1, False, []),
    "facility": ("09", "施設使用料", "Facility fees", "charge", 1, False, []),
    "late_charge": ("10", "延滞金", "Late charges", "late_charge", 1, False, []),
}  # fmt: skip


def revenue_defaults(code: str) -> dict:
    slip, name_ja, name_en, kind, months, late, schedule = STANDARD_REVENUES[code]
    return {
        "slip_code": slip,
        "name_ja": name_ja,
        "name_en": name_en,
        "kind": kind,
        "first_period_months": months,
        "bears_late_charge": late,
        "schedule": schedule,
    }


def ensure_standard_revenues(revenue_model) -> None:
    """Create the standard revenues that are missing (works with a migration's historical model)."""
    for code in STANDARD_REVENUES:
        revenue_model.objects.get_or_create(code=code, defaults=revenue_defaults(code))
