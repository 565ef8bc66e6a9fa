"""The ledger's account names: one function per kind of account, so no code spells one by hand.

Signs: a line's amount is positive for a debit and negative for a credit. An asset account (cash, a bank, a
gateway's clearing, what a citizen owes) has a positive balance when it holds money; a liability or revenue
account (owed to an agency, the post's revenue) a negative one.
"""

import re

_PART = re.compile(r"^[A-Za-z0-9._\-]{1,60}$")
PREFIXES = (
    "receivable:citizen:",
    "cash:courier:",
    "cash:office:",
    "clearing:",
    "bank:",
    "payable:agency:",
    "revenue:postal:",
    "exempt:",
    "remitted:agency:",
    "discrepancy:courier:",
    "refund:pending:",
)
MAX_ACCOUNT = 80


def _name(prefix: str, part: object) -> str:
    text = str(part)
    if not _PART.match(text):
        raise ValueError(f"bad account part {text!r}")
    return prefix + text


def receivable(citizen_id: object) -> str:
    """What a citizen owes (a debit balance)."""
    return _name("receivable:citizen:", citizen_id)


def courier_cash(staff_id: object) -> str:
    """Cash in a courier's hands."""
    return _name("cash:courier:", staff_id)


def office_cash(office_code: str) -> str:
    """Cash in a post office's safe."""
    return _name("cash:office:", office_code)


def clearing(provider: str) -> str:
    """Money a payment gateway holds for us (e.g. ``clearing:vnpay``)."""
    return _name("clearing:", provider)


def bank(office_code: str) -> str:
    """A post office's bank account (bank transfers, VietQR)."""
    return _name("bank:", office_code)


def payable_agency(org_code: str) -> str:
    """Fees and charges (phí, lệ phí) owed to the agency that decides the procedure."""
    return _name("payable:agency:", org_code)


def postal_revenue(office_code: str) -> str:
    """The postal charge (cước) earned by a post office."""
    return _name("revenue:postal:", office_code)


def exempt(basis_code: str) -> str:
    """Fees waived under a legal basis (the basis' code names the document)."""
    return _name("exempt:", basis_code)


def remitted_agency(org_code: str) -> str:
    """Remitted to an agency and not yet confirmed by it (money in transit)."""
    return _name("remitted:agency:", org_code)


def courier_discrepancy(staff_id: object) -> str:
    """A courier's cash-up shortfall (debit) or surplus (credit)."""
    return _name("discrepancy:courier:", staff_id)


def valid(account: str) -> bool:
    """True for a name one of the functions above builds."""
    if not account or len(account) > MAX_ACCOUNT:
        return False
    for prefix in PREFIXES:
        if account.startswith(prefix):
            return bool(_PART.match(account[len(prefix) :]))
    return False


def refund_pending(citizen_id: object) -> str:
    """Money the post owes back to a citizen (a cancelled visit that was paid), until it is paid out."""
    return _name("refund:pending:", citizen_id)
