"""What a courier may see about the person at a stop (Decree 13/2023/NĐ-CP on personal data protection).

Art. 3 (principles): personal data is processed only for the stated purpose and limited to what that purpose
needs. A courier's purpose is to find the person, recognise them at the door and call them when needed, so
the route shows:
- the name as initials plus the given name ("N. V. An"): enough to greet and recognise, not the full name;
- the phone number masked ("+84 90••••005"); the full number only as the call link of a stop that is still
  to be done on today's or a later route — once the stop is finished, the number is gone from the route;
- never the national id, date of birth or other addresses; the dossier's contents are not shown, only the
  procedure's name, how many documents to check and the amounts to collect.

The same masking shows an agency a citizen's phone (``backend/accounts/citizen_access.py``) and staff the
phones on appointments (``backend/booking/services/serialise.py``), so the rules sit below those domains.
"""

from datetime import date


def name_hint(full_name: str | None) -> str | None:
    """ "Nguyễn Văn An" -> "N. V. An" (Vietnamese names end with the given name)."""
    if not full_name or not full_name.strip():
        return None
    parts = full_name.split()
    return " ".join([*(p[0].upper() + "." for p in parts[:-1]), parts[-1]])


def mask_phone(phone: str | None) -> str | None:
    """Keep the country code, two leading and three trailing digits: "+84900000005" -> "+84 90••••005"."""
    if not phone:
        return None
    digits = phone[3:] if phone.startswith("+84") else phone.lstrip("+")
    if len(digits) < 6:
        return "•" * len(digits)
    return f"+84 {digits[:2]}{'•' * (len(digits) - 5)}{digits[-3:]}"


def may_call(stop_open: bool, route_day: date, today: date) -> bool:
    """The full number is given for the call button only while the visit is still ahead."""
    return stop_open and route_day >= today
