"""Progress of long work, for a person at a terminal: one line, redrawn in place.

`LiveLine` writes a line at most every `every_s` and erases it when done;
`watch(f, counts)` wraps a capture file so that `python -m probe -r BIG.pcap`
shows how far it got (bytes read against the file's size: percent and ETA),
packets, flows and the rate. Nothing is shown unless the stream is a
terminal: pipes, logs and tests get the output they always got.
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import time
from typing import BinaryIO, Callable, TextIO

EVERY_S = 0.25
BUFFER = 1 << 16


class LiveLine:
    def __init__(self, stream: TextIO, every_s: float = EVERY_S, clock: Callable[[], float] = time.monotonic):
        self.stream, self.every_s, self.clock = stream, every_s, clock
        self._last = clock()  # the first line after every_s: quick work shows nothing
        self._shown = False

    def due(self) -> bool:
        return self.clock() - self._last >= self.every_s

    def show(self, text: str) -> None:
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self.stream.write("\r" + text[:width] + "\033[K")
        self.stream.flush()
        self._last, self._shown = self.clock(), True

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def watch(f: BinaryIO, counts: Callable[[], tuple[int, int]], stream: TextIO | None = None,
          clock: Callable[[], float] = time.monotonic) -> BinaryIO:
    """`f` itself, or (the stream a terminal, `f` a file just opened with
    open(path, "rb")) the same file showing progress as it is read;
    `counts()` -> (packets, flows) so far."""
    stream = sys.stderr if stream is None else stream
    if not is_terminal(stream) or not isinstance(f, io.BufferedReader):
        return f
    try:
        size = os.fstat(f.fileno()).st_size
    except (OSError, ValueError):
        return f
    raw = ReadProgress(f.detach(), size, counts, LiveLine(stream, clock=clock), clock)
    # the progress sits under the buffer: small reads (pcapng blocks) cost nothing more
    return io.BufferedReader(raw, buffer_size=BUFFER)


class ReadProgress(io.RawIOBase):
    """A raw file that redraws a progress line as the buffer above refills."""

    def __init__(self, raw, size: int, counts, line: LiveLine, clock) -> None:
        super().__init__()
        self._raw, self.size, self.counts, self.line = raw, size, counts, line
        self.began = clock()
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self._raw.readinto(buf)
        if self.line.due():
            self.line.show(self.text())
        return n

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._raw.seek(pos, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def text(self) -> str:
        done = self._raw.tell()
        packets, flows = self.counts()
        elapsed = max(self._clock() - self.began, 1e-9)
        line = f"{packets:,} packets, {flows:,} flows, {packets / elapsed:,.0f} packets/s"
        if self.size > 0:
            line = f"{min(done / self.size, 1):6.1%}  " + line
            if 0 < done < self.size and elapsed >= 1:  # before that, the rate is noise
                line += f", ETA {_duration((self.size - done) * elapsed / done)}"
        return line

    def close(self) -> None:
        if not self.closed:
            self.line.done()
            self._raw.close()
        super().close()


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
