"""Fakes of outside services, shared by the benchmarks and the tests (tests import them from here)."""
