"""SMS: one interface (``SmsSender``), the log sender (embedded default) and the eSMS.vn adapter (issue 22).

No backend imports: configuration is passed in by whoever builds a sender (``backend/accounts/otp.py``).
"""

from notifications.sms.base import Outcome, SendResult, SmsSender
from notifications.sms.log import LogSmsSender

__all__ = ["LogSmsSender", "Outcome", "SendResult", "SmsSender"]
