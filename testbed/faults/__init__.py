"""Faults on the export path, with exact ground truth: impairment (impair.py), the tap that applies it (tap.py)."""
