"""`python -m probe -r FILE`: every capture format gives the same records,
`--print` writes JSON lines, routes and ifindex enrich records, and every bad
input ends with one clear line on stderr and exit status 2."""
from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys

import pytest
from capture_formats import read_classic, write_pcap, write_pcapng

from probe.bench import gen
from probe.cli import main
from probe.pcapfile import read


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """(directory, path of the generated pcap, its truth, its packets)."""
    d = tmp_path_factory.mktemp("cli")
    path = str(d / "gen.pcap")
    truth = gen.write(path, packets=3000, flows=300, seed=11, duration_s=40)
    return d, path, truth, read_classic(path)


def run(capsys, *argv: str) -> list[dict]:
    """The CLI in-process with --print; its records as dicts."""
    assert main(["--print", *argv]) == 0
    out, err = capsys.readouterr()
    assert "records_sent: " in err  # with --print the statistics go to stderr
    return [json.loads(line) for line in out.splitlines()]


FORMATS = {
    "pcap-us": lambda p, pk: write_pcap(p, pk),
    "pcap-ns": lambda p, pk: write_pcap(p, pk, nanos=True),
    "pcap-big-endian": lambda p, pk: write_pcap(p, pk, endian=">"),
    "raw": lambda p, pk: write_pcap(p, pk, linktype=101),
    "linux-sll": lambda p, pk: write_pcap(p, pk, linktype=113),
    "linux-sll2": lambda p, pk: write_pcap(p, pk, linktype=276, nanos=True),
    "pcapng-default-us": lambda p, pk: write_pcapng(p, pk, tsresol=None),
    "pcapng-us": lambda p, pk: write_pcapng(p, pk, tsresol=6),
    "pcapng-ns": lambda p, pk: write_pcapng(p, pk, tsresol=9),
    "pcapng-ms": lambda p, pk: write_pcapng(p, pk, tsresol=3),  # the probe's clock is ms
    "pcapng-raw-ns": lambda p, pk: write_pcapng(p, pk, linktype=101, tsresol=9),
}


def test_generated_capture_gives_the_truth(capsys, capture):
    _, path, truth, _ = capture
    recs = run(capsys, "-r", path)
    got = {(r["sport"], r["dport"], r["proto"], r["tos"], r["src"], r["dst"]):
           (r["packets"], r["octets"], r["tcp_flags"]) for r in recs}
    assert len(got) == len(recs) == len(truth.flows)
    want = {(k.sport, k.dport, k.proto, k.tos, _dotted(k.src), _dotted(k.dst)):
            (c.packets, c.octets, c.tcp_flags) for k, c in truth.flows.items()}
    assert got == want
    assert {r["input"] for r in recs} == {0} and {r["next_hop"] for r in recs} == {"0.0.0.0"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_same_records(capsys, capture, fmt):
    d, path, _, packets = capture
    other = str(d / f"{fmt}.cap")
    FORMATS[fmt](other, packets)
    got = run(capsys, "-r", other)
    if fmt == "linux-sll2":  # its header says which interface: ifindex 2 (see relink)
        assert {r["input"] for r in got} == {2}
        got = [dict(r, input=0) for r in got]
    assert got == run(capsys, "-r", path)


def test_pcapng_binary_tsresol(tmp_path, capture):
    packets = capture[3][:3]
    path = str(tmp_path / "bin.pcapng")
    write_pcapng(path, [(1_700_000_000_500_000_000 + i, f) for i, (_, f) in enumerate(packets)],
                 tsresol=0x80 | 10)  # 1/1024 s ticks
    with open(path, "rb") as f:
        stamps = [fr.ts_ns for fr in read(f)]
    assert stamps == [1_700_000_000_500_000_000] * 3  # 512/1024 s, exactly


def test_print_is_one_json_object_per_record(capsys, capture):
    recs = run(capsys, "-r", capture[1], "--engine-id", "3")
    assert set(recs[0]) == {"src", "dst", "next_hop", "input", "output", "packets", "octets",
                            "first", "last", "sport", "dport", "tcp_flags", "proto", "tos",
                            "src_mask", "dst_mask", "reason"}
    assert {r["reason"] for r in recs} <= {"inactive", "tcp_fin_rst", "shutdown"}


def test_routes_and_ifindex_enrich_records(capsys, capture):
    d, path, _, _ = capture
    routes_file = d / "routes.txt"
    routes_file.write_text("# destinations\n172.16.0.0/16,via=10.0.0.254,dev=7\n\n"
                           "172.16.128.0/17,dev=9   # on-link, more specific\n")
    recs = run(capsys, "-r", path, "--ifindex", "12", "--route", "10.0.0.0/8,dev=3",
               "--routes-file", str(routes_file))
    for r in recs:
        assert r["input"] == 12 and r["src_mask"] == 8  # every source is in 10/8
        third = int(r["dst"].split(".")[2])
        if third >= 128:
            assert (r["output"], r["next_hop"], r["dst_mask"]) == (9, "0.0.0.0", 17)
        else:
            assert (r["output"], r["next_hop"], r["dst_mask"]) == (7, "10.0.0.254", 16)
    assert {int(r["dst"].split(".")[2]) >= 128 for r in recs} == {True, False}


def test_stats_file_is_the_summary_as_json(capsys, capture, tmp_path):
    _, path, truth, _ = capture
    out = tmp_path / "stats.json"
    recs = run(capsys, "-r", path, "--stats-file", str(out))
    stats = json.loads(out.read_text())
    assert stats["packets"] == sum(c.packets for c in truth.flows.values())
    assert stats["flows_exported"] == len(recs) and stats["records_sent"] == 0  # --print sends nothing
    assert list(tmp_path.iterdir()) == [out]  # written atomically: no temporary left
    port = _closed_port()  # nobody listens: every datagram is refused (ICMP port unreachable)
    done = cli("-r", path, "-n", f"127.0.0.1:{port}", "--stats-file", str(out), "--export-rate", "0")
    assert done.returncode == 0, done.stderr
    stats = json.loads(out.read_text())
    assert stats["records_sent"] == len(recs) and f"records_sent: {len(recs)}" in done.stdout
    assert stats["send_lost"] == stats["send_errors"] == stats["datagrams_sent"] > 1  # exactly
    assert stats["collectors"][f"127.0.0.1:{port}"]["records_refused"] == len(recs)


def _closed_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- bad input: one line on stderr, exit 2, no traceback -----------------------

def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe", *argv], capture_output=True,
                          text=True, timeout=60)


def _files(d, capture_path):
    good = open(capture_path, "rb").read()
    files = {
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        "text": b"hello, this is not a capture\n",
        "short-header": good[:10],
        "cut-record-header": good[:24 + 8],
        "cut-packet": good[:24 + 16 + 5],
        "huge-caplen": good[:24] + struct.pack("<IIII", 0, 0, 10**9, 10**9),
        "pcapng-bad-length": struct.pack("<II", 0x0A0D0D0A, 7) + b"\0" * 20,
        "pcapng-cut": struct.pack("<III", 0x0A0D0D0A, 28, 0x1A2B3C4D) + b"\0" * 4,
        "pcapng-unknown-iface": _ng_packet_without_interface(),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return files


def _ng_packet_without_interface() -> bytes:
    buf = io.BytesIO()
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    for btype, body in ((0x0A0D0D0A, shb), (6, struct.pack("<IIIII", 5, 0, 0, 0, 0))):
        n = len(body) + 12
        buf.write(struct.pack("<II", btype, n) + body + struct.pack("<I", n))
    return buf.getvalue()


BAD_OPTIONS = [
    ["-r", "{pcap}"],  # nowhere to export
    ["--print"],  # no input
    ["-r", "{pcap}", "-i", "lo", "--print"],
    ["-r", "{pcap}", "-n", "no-port"],
    ["-r", "{pcap}", "-n", "127.0.0.1:70000"],
    ["-r", "{pcap}", "--print", "--max-flows", "lots"],
    ["-r", "{pcap}", "--print", "--inactive-timeout", "0"],
    ["-r", "{pcap}", "--print", "--engine-id", "256"],
    ["-r", "{pcap}", "--print", "--export", "v7"],
    ["-r", "{pcap}", "--print", "--template-packets", "3"],  # v9's, not v5's
    ["-r", "{pcap}", "--print", "--export", "v9", "--template-packets", "0"],
    ["-r", "{pcap}", "--print", "--export", "v9", "--template-interval", "0"],
    ["-r", "{pcap}", "--print", "--quirk", "no-such-bug"],
    ["-r", "{pcap}", "--print", "--ifindex", "70000"],
    ["-r", "{pcap}", "--print", "--ifindex", "3", "--ifindex", "eth0=3"],
    ["-r", "{pcap}", "--print", "--ifindex", "3", "--ifindex", "4"],
    ["-r", "{pcap}", "--print", "--ifindex", "eth0=70000"],
    ["-r", "{pcap}", "--print", "--route", "10.0.0.0/33"],
    ["-r", "{pcap}", "--print", "--route", "10.0.0.0/8,dev=70000"],
    ["-r", "{pcap}", "--print", "--route", "10.0.0.0/8,gw=1.2.3.4"],
    ["-r", "{pcap}", "--print", "--routes-file", "/nonexistent/routes"],
    ["-r", "{pcap}", "--print", "--stats-file", "/nonexistent/dir/stats.json"],
    ["-r", "{pcap}", "--print", "--stats-file", "{dir}"],
    ["-r", "{pcap}", "-n", "255.255.255.255:2055"],  # every datagram would be lost
    ["-r", "/nonexistent/file.pcap", "--print"],
    ["-r", "{dir}", "--print"],
    ["--bogus-option"],
]


def _one_clear_line(done: subprocess.CompletedProcess) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m probe: error: "), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", BAD_OPTIONS, ids=lambda a: " ".join(a))
def test_bad_options(capture, argv):
    d, path, _, _ = capture
    done = cli(*(a.format(pcap=path, dir=d) for a in argv))
    _one_clear_line(done)
    assert done.stdout == ""


def test_bad_files(capture):
    d, path, _, _ = capture
    bad = d / "bad"
    bad.mkdir()
    for name in _files(bad, path):
        done = cli("-r", str(bad / name), "--print")
        _one_clear_line(done)
        assert str(bad / name) in done.stderr, name


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_v9_prints_and_records_what_v5_does(capsys, capture, tmp_path, engine):
    """The same cache, another encoder: --print and the records file show the
    same records (the records file's datagram facts are v9's: sequence by
    datagram, whole seconds)."""
    _, path, _, _ = capture
    out = {}
    for version in ("v5", "v9"):
        recs = tmp_path / f"{version}.jsonl"
        out[version] = run(capsys, "-r", path, "--engine", engine, "--export", version,
                           "--records-file", str(recs), "--inactive-timeout", "2")
        out[version + "-file"] = [json.loads(line) for line in recs.read_text().splitlines()]
    assert out["v9"] == out["v5"] and len(out["v5"]) > 300
    about = ("flow_sequence", "count", "export_ms", "sys_uptime", "index")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in about} for r in rows]  # noqa: E731
    assert strip(out["v9-file"]) == strip(out["v5-file"]) == out["v5"]
    v9 = out["v9-file"]
    assert [r["flow_sequence"] for r in v9] == sorted(r["flow_sequence"] for r in v9)
    assert v9[-1]["flow_sequence"] + 1 == len({r["flow_sequence"] for r in v9})  # one a datagram
    assert all(r["export_ms"] % 1000 == 0 for r in v9)


def _dotted(a: int) -> str:
    return ".".join(str(b) for b in a.to_bytes(4, "big"))


def test_print_into_a_pipe_closed_early_exits_quietly(small_capture):
    """`python -m probe -r F --print | head -1`: no error, exit 0, it stops early."""
    proc = subprocess.Popen([sys.executable, "-m", "probe", "-r", small_capture[0], "--print"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline())
    proc.stdout.close()  # as head does after its line
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and "Broken pipe" not in err and "Traceback" not in err, err
