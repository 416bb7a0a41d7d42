"""Where a driver's datagrams go: each collector over UDP, stdout and a records file as JSON lines.

Both drivers (offline_cli, live/daemon) hand every datagram the probe built
to `Output.emit`. What left is counted by the sender, when it leaves
(`--print` alone sends nothing).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Callable

from .engine_api import ExportDatagram
from .records_file import RecordsFile
from .sender import Sender
from .stats import Stats


@dataclass(frozen=True)
class OutputOptions:
    collectors: tuple[tuple[str, int], ...] = ()
    print_records: bool = False
    stats_file: str | None = None  # the final statistics as JSON, written at exit
    records_file: str | None = None  # every exported record as JSON lines, with its datagram and reason


class Output:
    def __init__(self, options: OutputOptions, stats: Stats,
                 before_send: Callable[[], None] | None = None) -> None:
        self.options = options
        self.printing = options.print_records
        self.finished = False  # stdout went away and there is no collector: nothing left to do
        self.sender = Sender(list(options.collectors), stats) if options.collectors else None
        self.records = RecordsFile(options.records_file) if options.records_file else None
        self._before_send = before_send  # offline pacing

    def emit(self, datagram: ExportDatagram) -> None:
        if self.records:
            self.records.write(datagram)
        if self.printing:
            try:
                sys.stdout.write("".join(r.as_json() + "\n" for r in datagram.records))
            except BrokenPipeError:
                self._stdout_gone()
        if self.sender:
            if self._before_send:
                self._before_send()
            self.sender.send(datagram.data)

    def flush(self) -> None:
        """End of a batch: make the printed (and recorded) lines visible."""
        if self.records:
            self.records.flush()
        if self.printing:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                self._stdout_gone()

    def _stdout_gone(self) -> None:
        """`--print | head`: the reader left. Stop printing, quietly (as CLI tools do);
        point stdout at /dev/null so that no later flush fails."""
        self.printing = False
        self.finished = self.sender is None
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

    def fileno(self) -> list[int]:
        """Sockets to watch for POLLERR (ICMP errors coming back): then collect()."""
        return self.sender.fileno() if self.sender else []

    def collect(self) -> None:
        if self.sender:
            self.sender.collect()

    def settle(self) -> None:
        """Before the final statistics: count the errors of the last datagrams."""
        if self.sender:
            self.sender.settle()

    def report(self) -> dict[str, dict]:
        """Per collector: datagrams and records sent, refused, lost (see sender)."""
        return self.sender.report() if self.sender else {}

    def close(self) -> None:
        if self.sender:
            self.sender.close()
        if self.records:
            self.records.close()
