"""Outbound webhooks for partner systems (issue 19): endpoints, the event relay and signed delivery."""
