"""Notification channels beside push (issue 22): SMS and Zalo ZNS as fallbacks of one policy (``policy``), one
delivery row per (notification, channel) sent by the channel dispatcher (``dispatcher``) through the outbox's lease
claim, at a rate shared by every dispatcher (``ratelimit``), updated by the providers' delivery reports (``store``).

Knows messages, recipients and kinds, never dossiers; no backend imports (settings come in as ``ChannelConfig``).
"""
