"""Audit of staff reading citizens' personal data (Decree 13/2023/NĐ-CP)."""
