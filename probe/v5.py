"""The NetFlow v5 wire format, the probe's side: the structs of the layout in
probe/constants.py (the table in FIELD-BUGS.md), and reading back what we
wrote (`--print`, the records file, the sender's counts). The collector in
testbed/ has its own decoder on purpose.
"""
from __future__ import annotations

from .constants import V5_HEADER, V5_MAX_RECORDS, V5_RECORD, V5_VERSION, layout

VERSION = V5_VERSION
MAX_RECORDS = V5_MAX_RECORDS
HEADER = layout(V5_HEADER)
RECORD = layout(V5_RECORD)
