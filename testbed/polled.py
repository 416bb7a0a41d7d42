"""A Popen look-alike for a process someone else reaps (the fork server, a server's
agent): its subclass says how to ask for the exit status (`poll`) and how to signal
it (`send_signal`); waiting and the two usual signals are the same for all."""
from __future__ import annotations

import signal
import subprocess
import time


class PolledProc:
    pid: int
    returncode: int | None
    POLL_S = 0.01  # how often wait() asks

    def poll(self) -> int | None:
        raise NotImplementedError

    def send_signal(self, sig: int) -> None:
        raise NotImplementedError

    def where(self) -> str:
        """How a timeout names it."""
        return f"pid {self.pid}"

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.where(), timeout)
            time.sleep(self.POLL_S)
        return self.returncode

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
