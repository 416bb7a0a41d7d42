"""Timed runs over one capture: each engine in-process, the real CLI end to
end (either engine), softflowd -r and NFStream on the same file."""
from __future__ import annotations

import importlib.util
import itertools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

from ..constants import Expiry
from ..engine import Probe
from ..engine_api import Config
from ..fast.choose import offline
from ..pcapfile import read
from .ready import measure


class Result(NamedTuple):
    name: str
    packets: int
    seconds: float
    peak_rss_kb: int = 0  # of the child process; 0 when run in-process
    records: int = -1  # v5 records that reached the sink; -1 when not sent
    exported_packets: int = -1  # packets in those records

    @property
    def pps(self) -> float:
        return self.packets / self.seconds


def median(results: list[Result]) -> Result:
    """The run of median time (several runs: the machine is shared and noisy)."""
    return sorted(results, key=lambda r: r.seconds)[len(results) // 2]


def load_frames(path: str, limit: int | None = None) -> list[tuple[int, int, bytes]]:
    """(ms, linktype, frame) of the first `limit` packets, read before timing the engine."""
    with open(path, "rb") as f:
        return [(fr.ts_ns // 1_000_000, fr.linktype, fr.data)
                for fr in itertools.islice(read(f), limit)]


def drive(frames: list[tuple[int, int, bytes]]) -> Probe:
    """The reference engine alone: decode + cache + export; datagrams are built and dropped."""
    probe = Probe(Config(), start_ms=frames[0][0] if frames else 0)
    handle, pop = probe.handle_frame, probe.datagrams_to_send
    now = 0
    for now, linktype, data in frames:
        handle(data, linktype, 0, now)
        pop()
    probe.flush(now, Expiry.SHUTDOWN)
    probe.datagrams_to_send()
    return probe


def offline_inprocess(path: str, engine: str) -> Result:
    """offline mode's driver in this process (pcap read + engine, datagrams dropped)."""
    config = Config()
    probe_class, runner = offline(engine, config)
    make = lambda start: probe_class(config, None, start)  # noqa: E731
    t = time.perf_counter()
    with open(path, "rb") as f:
        probe = runner(f, make, lambda d: None)
    return Result(f"{engine} engine in-process (offline driver)", probe.stats.frames,
                  time.perf_counter() - t)


def _timed_child(argv: list[str], timeout: float = 900) -> tuple[float, int, str]:
    """Run to completion: (wall seconds, peak RSS kB, stdout+stderr). The peak is
    sampled every millisecond, so it can miss the last millisecond's growth."""
    with tempfile.TemporaryFile("w+") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        deadline = t + timeout
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _hwm_kb(proc.pid))
            if time.perf_counter() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"{' '.join(argv)}: no exit after {timeout} s")
            time.sleep(0.001)
        seconds = time.perf_counter() - t
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{text}")
    return seconds, peak, text


def _hwm_kb(pid: int) -> int:
    """The process's peak RSS so far (VmHWM). Not rusage: a child's ru_maxrss
    includes the parent's memory it was forked from."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cli(path: str, sink, packets: int, *extra: str) -> Result:
    """`python -m probe -r path -n sink` (+ extra options), start to exit."""
    sink.reset()
    seconds, rss, _ = _timed_child(cli_argv(path, sink.port, *extra))
    sink.settle()
    engine = "reference" if "reference" in extra else "fast"
    rest = [x for x in extra if x not in ("--engine", "reference")]
    label = f"{engine} CLI " + (" ".join(rest) if rest else "(paced 5000 dgram/s)")
    return Result(label + " end to end", packets, seconds, rss, *sink.totals())


def softflowd(path: str, sink, packets: int, max_flows: int = 262_144) -> Result:
    """softflowd -r: reads the whole file, exports at EOF. -m: softflowd's default
    (8192) would force-expire most flows of a big file; 262144 is the probe's default.

    `-c none`: softflowd 1.1.0 with -r and a control socket tests the socket's
    poll result without polling (uninitialised struct pollfd) and can block in
    accept() forever. -r alone disables the socket; -c PATH after it re-enables it.
    """
    sink.reset()
    with tempfile.TemporaryDirectory() as d:
        argv = softflowd_argv(path, sink.port, os.path.join(d, "pid"), max_flows)
        seconds, rss, text = _timed_child(argv, timeout=900)
    sink.settle()
    seen = [line for line in text.splitlines() if line.startswith("Packets processed:")]
    if seen != [f"Packets processed: {packets}"]:
        raise RuntimeError(f"softflowd did not process {packets} packets:\n{text}")
    return Result(f"softflowd -r (-m {max_flows}) end to end", packets, seconds, rss,
                  *sink.totals())


class Paired(NamedTuple):
    """farm-bench --vs: medians of A's and B's wall seconds, and of A/B pair by pair."""
    a_seconds: float
    b_seconds: float
    ratio: float  # A/B wall


def paired(a: list[str], b: list[str], runs: int = 5, timeout: int = 900) -> Paired | None:
    """A and B in turn under `farm-bench --vs` (None without farm-bench)."""
    if shutil.which("farm-bench") is None:
        return None
    done = subprocess.run(["farm-bench", "-n", str(runs), "--timeout", str(timeout),
                           "--vs", shlex.join(b), "--", *a],
                          capture_output=True, text=True, timeout=timeout + 60)
    medians = {}
    for line in done.stdout.splitlines():  # "A wall s   min  median  max"
        words = line.split()
        if len(words) >= 4 and words[0] in ("A", "B", "A/B") and words[1] == "wall":
            medians[words[0]] = float(words[-2])
    if set(medians) != {"A", "B", "A/B"}:
        raise RuntimeError(f"farm-bench: no wall medians in:\n{done.stdout}{done.stderr}")
    return Paired(medians["A"], medians["B"], medians["A/B"])


def cli_argv(path: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "probe", "-r", path, "-n", f"127.0.0.1:{port}", *extra]


def softflowd_argv(path: str, port: int, pidfile: str, max_flows: int = 262_144) -> list[str]:
    """softflowd -r (see `softflowd`: -c none, -m)."""
    return ["softflowd", "-r", path, "-n", f"127.0.0.1:{port}", "-v", "5", "-d",
            "-m", str(max_flows), "-c", "none", "-p", pidfile]


def have_nfstream() -> bool:
    return importlib.util.find_spec("nfstream") is not None


def nfstream(path: str, packets: int) -> Result:
    """NFStream over the same file, start to exit (flows counted, not exported)."""
    code = ("import sys; from nfstream import NFStreamer; "
            "print(sum(1 for _ in NFStreamer(source=sys.argv[1], statistical_analysis=False, "
            "n_dissections=0)))")
    seconds, rss, text = _timed_child([sys.executable, "-c", code, path])
    return Result("NFStream (flows only, no export) end to end", packets, seconds, rss,
                  int(text.split()[-1]))


def start_to_ready(repeat: int = 5) -> list[float] | None:
    """Seconds from starting a live probe to its control socket's first answer
    (`-i lo` in a namespace of its own); None without root or iproute2."""
    return measure(repeat)

