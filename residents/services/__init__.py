"""Every change to the resident register (住民基本台帳), one function per use case.

Each function is keyword-only, runs in one transaction, writes a `Movement` (異動) and an audit
event, and refuses bad input with a `ValidationError` whose message is in the reader's language
(gettext). The residence history is kept in `ResidencePeriod` rows that are closed, never
rewritten, so any past date can be reconstructed (住民基本台帳法 8条: records are kept by
記載・消除・修正, not erased).

One module per concern, with the same public names here:

- ``movements`` (with ``records``, the periods and movement rows they share): 転入・出生・転出・死亡・転居・世帯主変更・修正 (needs ``residents.add_movement``);
- ``mynumbers``: the register's My Numbers, revealing one (``residents.reveal_mynumber``),
  printing one on a certificate (``residents.certify_mynumber``) and the key ring other apps seal
  with;
- ``access``: staff reads written to the audit log (``residents.view_resident``);
- ``linking``: portal accounts linked by a mailed code (issued with
  ``residents.change_resident``) or a マイナンバーカード;
- ``addresses``: typed addresses to Address rows; ``geocoding``: the GIS geocoder's writes of
  their map positions.

Every staff-facing service takes the acting user and refuses one without the named permission;
batch and system work passes ``cityhall.roles.SYSTEM`` instead of a user, and ``None`` is refused.
"""

from .access import ACCESS_PURPOSES, record_resident_view, record_search
from .addresses import address_from_text
from .common import (
    HEAD_RELATIONSHIP,
    MSG_BEFORE_PERIOD,
    MSG_FUTURE,
    MSG_HEAD_NEEDS_SUCCESSOR,
    MSG_HOUSEHOLD_EMPTY,
    MSG_MYNUMBER_TAKEN,
    MSG_NOT_CURRENT,
    MSG_NOT_MEMBER,
    MSG_PURPOSE_REQUIRED,
    MSG_RELATIONSHIP_REQUIRED,
)
from .geocoding import bulk_set_address_locations, set_address_location
from .linking import (
    ACTIVATION_CODE_ALPHABET,
    ACTIVATION_CODE_DAYS,
    FACT_LABELS,
    LINK_LOCK_HOURS,
    LINK_MAX_FAILURES,
    MSG_ALREADY_LINKED,
    MSG_LINK_LOCKED,
    MSG_LINK_WRONG,
    issue_activation_code,
    link_account,
    link_account_by_card,
    link_failures,
    link_is_locked,
)
from .movements import (
    CORRECTABLE_FIELDS,
    change_head_of_household,
    correct_record,
    register_birth,
    register_death,
    register_move_in,
    register_move_out,
    register_relocation,
)
from .mynumbers import (
    KEY_ROTATION_HOOKS,
    decrypt_mynumber,
    mask_of,
    mynumber_for_certificate,
    register_key_rotation,
    reveal_mynumber,
    rotate_mynumber_keys,
    seal,
    sealed_under_current_key,
    unseal,
)
from .records import fill_search_fields

__all__ = [
    "ACCESS_PURPOSES",
    "ACTIVATION_CODE_ALPHABET",
    "ACTIVATION_CODE_DAYS",
    "CORRECTABLE_FIELDS",
    "FACT_LABELS",
    "HEAD_RELATIONSHIP",
    "KEY_ROTATION_HOOKS",
    "LINK_LOCK_HOURS",
    "LINK_MAX_FAILURES",
    "MSG_ALREADY_LINKED",
    "MSG_BEFORE_PERIOD",
    "MSG_FUTURE",
    "MSG_HEAD_NEEDS_SUCCESSOR",
    "MSG_HOUSEHOLD_EMPTY",
    "MSG_LINK_LOCKED",
    "MSG_LINK_WRONG",
    "MSG_MYNUMBER_TAKEN",
    "MSG_NOT_CURRENT",
    "MSG_NOT_MEMBER",
    "MSG_PURPOSE_REQUIRED",
    "MSG_RELATIONSHIP_REQUIRED",
    "address_from_text",
    "bulk_set_address_locations",
    "change_head_of_household",
    "correct_record",
    "decrypt_mynumber",
    "fill_search_fields",
    "issue_activation_code",
    "link_account",
    "link_account_by_card",
    "link_failures",
    "link_is_locked",
    "mask_of",
    "mynumber_for_certificate",
    "record_resident_view",
    "record_search",
    "register_birth",
    "register_death",
    "register_key_rotation",
    "register_move_in",
    "register_move_out",
    "register_relocation",
    "reveal_mynumber",
    "rotate_mynumber_keys",
    "seal",
    "sealed_under_current_key",
    "set_address_location",
    "unseal",
]
