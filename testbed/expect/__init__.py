"""Expectations: named checks of a lab file, evaluated against the collector's data."""
