"""続柄 as a person reads it. The register keeps the Japanese word (住民基本台帳法施行令 and the
住民基本台帳事務処理要領 fix the vocabulary); pages say it in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

LABELS = {
    "世帯主": _("世帯主"),
    "妻": _("妻"),
    "夫": _("夫"),
    "子": _("子"),
    "長男": _("長男"),
    "長女": _("長女"),
    "二男": _("二男"),
    "二女": _("二女"),
    "次男": _("次男"),
    "次女": _("次女"),
    "三男": _("三男"),
    "三女": _("三女"),
    "父": _("父"),
    "母": _("母"),
    "祖父": _("祖父"),
    "祖母": _("祖母"),
    "孫": _("孫"),
    "兄": _("兄"),
    "姉": _("姉"),
    "弟": _("弟"),
    "妹": _("妹"),
    "子の妻": _("子の妻"),
    "子の夫": _("子の夫"),
    "妻の父": _("妻の父"),
    "妻の母": _("妻の母"),
    "夫の父": _("夫の父"),
    "夫の母": _("夫の母"),
    "縁故者": _("縁故者"),
    "同居人": _("同居人"),
}


def relationship_label(value: str) -> str:
    """The relationship in the language of the page; an uncommon one as registered."""
    label = LABELS.get(value)
    return str(label) if label is not None else value
