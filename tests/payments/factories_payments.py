"""Factories for the payments tests. Residents are made directly with the ORM (only the fields
residents/models.py has today), so these tests do not depend on residents' services."""

from __future__ import annotations

import itertools
from datetime import date

from payments.models import Revenue
from payments.revenues import revenue_defaults
from payments.services import create_charge
from residents.models import Address, Household, Resident

_numbers = itertools.count(1)


def revenue(code: str = "resident_tax") -> Revenue:
    """A standard revenue (the data migration creates them; a flushed database may not have)."""
    obj, _ = Revenue.objects.get_or_create(code=code, defaults=revenue_defaults(code))
    return obj


def quarterly_resident_tax() -> Revenue:
    """Resident tax billed in four installments (6/30, 8/31, 10/31, 1/31), as the billing run
    tests use it."""
    tax = revenue("resident_tax")
    tax.schedule = [[6, 30], [8, 31], [10, 31], [1, 31]]
    tax.save()
    return tax


def assessment_csv(lines) -> bytes:
    """The billing run's input file from (assessment_key, resident_code, amount) triples: resident
    tax of fiscal year 2025, no parcel."""
    rows = ["assessment_key,resident_code,revenue_code,fiscal_year,amount,parcel_key"]
    rows += [f"{key},{code},resident_tax,2025,{amount}," for key, code, amount in lines]
    return ("\n".join(rows) + "\n").encode()


def make_resident(user=None, **fields) -> Resident:
    n = next(_numbers)
    address, _ = Address.objects.get_or_create(
        normalized=f"テスト町{n}番地", defaults={"town": "テスト町", "banchi": str(n)}
    )
    household = Household.objects.create(
        number=f"P{n:09d}",
        address=address,
        address_since=date(2010, 4, 1),
        formed_on=date(2010, 4, 1),
    )
    values = {
        "resident_code": f"9{n:010d}",
        "family_name": "収納",
        "given_name": f"太郎{n}",
        "family_name_kana": "シュウノウ",
        "given_name_kana": "タロウ",
        "birth_date": date(1980, 1, 1),
        "sex": Resident.Sex.MALE,
        "household": household,
        "relationship": "世帯主",
        "is_head": True,
        "became_resident_on": date(2010, 4, 1),
        "user": user,
        "search_name": f"収納 太郎{n}",
        "search_kana": "シュウノウ タロウ",
    }
    values.update(fields)
    return Resident.objects.create(**values)


def make_charge(payer, *, code: str = "resident_tax", parts=((date(2025, 6, 30), 10_000),), **kw):
    return create_charge(
        payer=payer,
        revenue=revenue(code),
        fiscal_year=kw.pop("fiscal_year", 2025),
        installments=list(parts),
        **kw,
    )
