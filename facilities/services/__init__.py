"""Every change of state in facility reservations, one module per part of the domain:
``registrations`` (利用者登録), ``bookings`` (予約, check-in, official use, recurring use),
``lottery`` (抽選) and ``billing`` (fees through payments)."""
