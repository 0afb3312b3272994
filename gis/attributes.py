"""Feature attributes as a person reads them: a label and a value with its unit, never the key.

Layers come from the demo seed and from imported files (gis_import), whose column names are
whatever the source system used. Known keys have a label here; an unknown column is still shown,
labelled as a column of the imported data, so staff do not lose information.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    try:
        return _number(float(value)) if "." in str(value) else _number(int(value))
    except (TypeError, ValueError):
        return str(value)


def _with_unit(unit: str) -> Callable[[object], str]:
    def render(value) -> str:
        return f"{_number(value)} {unit}"

    return render


def _year(value) -> str:
    return gettext("%(year)s年") % {"year": value}


def _floors(value) -> str:
    return gettext("%(n)s階建て") % {"n": value}


def _evacuation(value) -> str:
    return str(_("指定避難所")) if value is True else str(_("指定なし"))


@dataclass(frozen=True)
class Attribute:
    label: str
    render: Callable[[object], str] | None = None


ATTRIBUTES: dict[str, Attribute] = {
    "name": Attribute(_("名称")),
    "code": Attribute(_("地区コード")),
    "category": Attribute(_("種別")),
    "evacuation": Attribute(_("避難所"), _evacuation),
    "depth": Attribute(_("想定される浸水の深さ")),
    "return_period": Attribute(_("想定する降雨の規模")),
    "chiban": Attribute(_("地番")),
    "town": Attribute(_("町名")),
    "chome": Attribute(_("丁目")),
    "block": Attribute(_("番")),
    "lot": Attribute(_("筆の番号")),
    "area_m2": Attribute(_("地積"), _with_unit("m²")),
    "land_use": Attribute(_("地目")),
    "parcel_key": Attribute(_("敷地の地番")),
    "floors": Attribute(_("階数"), _floors),
    "use": Attribute(_("用途")),
    "road_class": Attribute(_("道路の種別")),
    "width_m": Attribute(_("幅員"), _with_unit("m")),
    "section": Attribute(_("区間番号")),
    "diameter_mm": Attribute(_("口径"), _with_unit("mm")),
    "material": Attribute(_("管の材質")),
    "laid": Attribute(_("布設年"), _year),
    "system": Attribute(_("排除方式")),
}


def _plain(value) -> str:
    if value is True:
        return gettext("はい")
    if value is False:
        return gettext("いいえ")
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list | tuple):
        return "、".join(_plain(item) for item in value)
    if isinstance(value, dict):
        return "、".join(f"{key}: {_plain(item)}" for key, item in value.items())
    return str(value)


def readable_attributes(attributes: dict, *, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(label, value) pairs for a feature's attributes, known keys first in the order above;
    empty values and the keys in `skip` are left out."""
    skipped = set(skip)
    known = [key for key in ATTRIBUTES if key in attributes]
    unknown = sorted(key for key in attributes if key not in ATTRIBUTES and not key.startswith("_"))
    rows = []
    for key in known + unknown:
        value = attributes[key]
        if key in skipped or value is None or value == "":
            continue
        attribute = ATTRIBUTES.get(key)
        if attribute is None:
            label = gettext("取込データの項目「%(column)s」") % {"column": key}
            rows.append((label, _plain(value)))
        else:
            render = attribute.render or _plain
            rows.append((str(attribute.label), render(value)))
    return rows
