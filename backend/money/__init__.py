"""Money (issue 21): the append-only ledger, collection at the door, receipts, cash-ups, remittances, reports."""
