"""Run the live collector as a subprocess, e.g. inside a Mininet host's namespace.

    with start_collector("10.0.9.2:2055", run_dir / "collector.jsonl",
                         prefix=mnexec_prefix(host)) as c:
        ...traffic...
    result = c.result            # or: result = c.stop()

Its stdout goes to a file, not a pipe: a pipe that nobody reads fills up and
would stall the collector (and lose datagrams).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from testbed.collector.load import load_jsonl
from testbed.collector.result import CollectorResult
from testbed.logtail import tail

READY = "# listening on "
OUTPUT_TAIL = 8192  # of its output, in an error (it prints every record)


def mnexec_prefix(host) -> list[str]:
    """Command prefix that runs inside a Mininet host (or any process id's) namespaces."""
    return ["mnexec", "-a", str(getattr(host, "pid", host))]


class CollectorProcess:
    def __init__(self, listen: str, jsonl: str | os.PathLike, *, log: str | os.PathLike | None = None,
                 prefix: Sequence[str] = (), python: str = sys.executable, args: Sequence[str] = ()):
        self.jsonl = Path(jsonl)
        self.log = Path(log) if log else self.jsonl.with_suffix(".log")
        self.command = [*prefix, python, "-m", "testbed", "collect", "--listen", listen,
                        "--jsonl", str(self.jsonl), *args]
        self.proc: subprocess.Popen | None = None
        self.listen: tuple[str, int] | None = None  # as bound (port 0 resolved)
        self.result: CollectorResult | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, timeout: float = 10.0) -> CollectorProcess:
        """Start and wait until the socket is bound; RuntimeError with its output if it is not."""
        self.launch()
        self.wait_ready(time.monotonic() + timeout)
        return self

    def launch(self) -> None:
        """Start the process, without waiting (several start together: see wait_ready)."""
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def wait_ready(self, deadline: float) -> None:
        """Until its socket is bound (monotonic `deadline`); RuntimeError if it is not."""
        while time.monotonic() < deadline:
            first = self._first_line()
            if first.startswith(READY):
                host, _, port = first[len(READY):].split()[0].rpartition(":")
                self.listen = (host, int(port))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self._end(signal.SIGKILL, 5.0)
        raise RuntimeError(f"collector did not start: {' '.join(self.command)}\n{self.output()}")

    def stop(self, timeout: float = 20.0) -> CollectorResult:
        """SIGTERM (the collector drains its socket, for up to 5 s, and writes the
        summary), then load the JSONL."""
        code = self._end(signal.SIGTERM, timeout)
        if code != 0:
            raise RuntimeError(f"collector exited {code}:\n{self.output()}")
        self.result = load_jsonl(self.jsonl)
        return self.result

    def output(self) -> str:
        """The end of what it printed so far (records, events, summary)."""
        return tail(self.log, OUTPUT_TAIL)

    def _first_line(self) -> str:
        try:
            with open(self.log, "rb") as f:
                return f.readline(4096).decode("utf-8", "replace").rstrip("\n")
        except FileNotFoundError:
            return ""

    def _end(self, sig: int, timeout: float) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # by its pid only
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> CollectorProcess:
        return self if self.proc else self.start()

    def __exit__(self, exc_type, *_) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if exc_type is None:
                self.stop()
            else:
                self._end(signal.SIGTERM, 10.0)


def start_collector(listen: str, jsonl: str | os.PathLike, **kwargs) -> CollectorProcess:
    return CollectorProcess(listen, jsonl, **kwargs).start()
