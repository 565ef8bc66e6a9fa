"""Zalo Notification Service (ZNS): template messages as a notification channel (issue 22).

``client.ZnsSender`` sends one template message (``SendResult``/``Outcome`` as the SMS senders answer);
``tokens.TokenStore`` keeps the OA's access token and rotating refresh token in the database; ``codes`` maps
Zalo's error codes to retry / wait / refresh / fatal; ``templates`` maps our notification kinds to approved ZNS
templates (configuration); ``records`` keeps each message's status; ``webhook`` checks and reads Zalo's delivery
events. No backend imports: configuration is passed in by whoever builds a sender.
"""

from notifications.zns.client import ZnsConfig, ZnsSender
from notifications.zns.tokens import OAuthConfig, Token, TokenError, TokenStore

__all__ = ["OAuthConfig", "Token", "TokenError", "TokenStore", "ZnsConfig", "ZnsSender"]
