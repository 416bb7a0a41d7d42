"""`--records-file PATH`: every record the probe exported, as JSON lines, for programs.

What `--print` shows, plus what the wire does not carry in a usable form for
a reader of one record: the datagram it left in (`flow_sequence`: its header's
sequence, records before it in v5, datagrams before it in v9; `count`: its flow
records; `sys_uptime`; `export_ms` = the header's unix time in ms, whole seconds
in v9; `index` in the datagram). The
expiry `reason` is never on the wire; the testbed's report reads it from here
(the reference collector does not: it imports nothing from the probe).
"""
from __future__ import annotations

import json

from .engine_api import ExportDatagram
from .wire import facts


class RecordsFile:
    def __init__(self, path: str) -> None:
        self._f = open(path, "a", encoding="utf-8")

    def write(self, d: ExportDatagram) -> None:
        f = facts(d.data)
        about = {"flow_sequence": f.sequence, "count": f.records, "export_ms": f.export_ms,
                 "sys_uptime": f.sys_uptime}
        for i, r in enumerate(d.records):
            row = {**about, "index": i, **r.as_dict()}
            self._f.write(json.dumps(row, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()
