"""Each kind's launch() and claims(), pure: the exact command lines and config files."""
from __future__ import annotations

from dataclasses import replace

import signal

import pytest

from exporters.samples import ETH0, ETH1, W, spec
from probe.cli import build_parser
from testbed.exporters import (FIELDS, ICMP_DPORT, ICMP_SPORT_DPORT, KINDS, Claims, Port,
                               Unsupported, fprobe, kind, netflow_lab, pmacctd, softflowd)


def words(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_kinds_are_registered_by_their_lab_names():
    assert list(KINDS) == ["netflow-lab", "softflowd", "pmacctd", "fprobe"]
    assert kind("netflow-lab") is netflow_lab
    with pytest.raises(ValueError, match="unknown exporter kind 'nprobe'; known: netflow-lab"):
        kind("nprobe")


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_claims_known_fields_and_runs_from_the_workdir(name):
    k = kind(name)
    c = k.claims(spec())
    assert set(c.fills) | set(c.unreliable) <= set(FIELDS)
    launch = k.launch(spec())
    assert launch.processes and all(p.log.startswith(f"{W}/p1.") or p.log.startswith(f"{W}/probe-p1.")
                                    for p in launch.processes)
    later = k.launch(replace(spec(), run=2))  # a restart's logs do not overwrite the first's
    assert not {p.log for p in later.processes} & {p.log for p in launch.processes}
    assert all(path.startswith(str(W)) for path in launch.files)


def test_netflow_lab_argv_is_what_the_probe_cli_accepts():
    s = spec(scan_interval=0.5, max_flows=1000, engine_type=7, engine_id=9, args=("--quirk", "uptime-seconds"))
    (p,) = netflow_lab.launch(s).processes
    assert p.argv[1:3] == ("-m", "probe") and p.python_main == "probe.cli:main"
    args = build_parser().parse_args(list(p.python_args))
    assert (args.interface, args.collector) == (["eth0", "eth1"], [("10.0.9.2", 2055)])
    assert (args.inactive_timeout, args.active_timeout, args.scan_interval, args.max_flows) == (2.5, 60, 0.5, 1000)
    assert (args.engine_type, args.engine_id, args.quirk) == (7, 9, ["uptime-seconds"])
    launch = netflow_lab.launch(s)
    assert args.control == launch.control == "/run/lab/w/probe-p1.ctl"
    assert (args.stats_file, args.records_file) == (launch.stats_file, launch.records_file)
    c = netflow_lab.claims(s)
    assert c.fills == set(FIELDS) and c.tos_in_key and c.expires_on_fin_rst and c.icmp == ICMP_DPORT


def test_netflow_lab_pins_a_small_ring_unless_the_lab_says():
    def ring(s):
        return build_parser().parse_args(list(netflow_lab.launch(s).processes[0].python_args)).ring
    assert ring(spec()) == netflow_lab.LAB_RING == 1 << 20  # not the standalone probe's 8 MiB
    assert ring(spec(options=netflow_lab.Options(ring=8 << 20))) == 8 << 20
    assert ring(spec(options=netflow_lab.Options(ring=192 << 10), version=9)) == 192 << 10


def test_softflowd_on_one_interface_fills_its_ifindex_and_keeps_what_came_in():
    (p,) = softflowd.launch(spec(ETH1, max_flows=500, args=("-s", "10"))).processes
    argv = list(p.argv)
    assert argv[:4] == ["softflowd", "-d", "-N", "-c"] and words(argv, "-i") == ["7:eth1"]
    assert argv[-1] == "not ether src 02:00:00:00:00:02" and argv[-3:-1] == ["-s", "10"]
    assert words(argv, "-t") == ["general=3", "tcp=3", "tcp.rst=3", "tcp.fin=3", "udp=3", "icmp=3",
                                 "maxlife=60", "expint=1"]
    assert words(argv, "-m") == ["500"] and words(argv, "-v") == ["5"]
    assert p.stop_command == ("softflowctl", "-c", "/run/lab/w/p1.softflowd.ctl", "shutdown")
    c = softflowd.claims(spec(ETH1))
    assert "input" in c.fills and c.unreliable["output"].startswith("copies the input")
    assert c.reason("output", "softflowd") == "softflowd copies the input ifindex into output"


def test_softflowd_on_several_interfaces_is_one_process_on_any():
    launch = softflowd.launch(spec(collectors=(("10.0.9.2", 2055), ("10.0.9.3", 9995))))
    (p,) = launch.processes
    assert words(p.argv, "-i") == ["any"] and p.argv[-1] == "inbound"
    assert words(p.argv, "-n") == ["10.0.9.2:2055,10.0.9.3:9995"]  # a second -n would replace the first
    assert launch.clean_exits == {0, 1} and not {"input", "output"} & softflowd.claims(spec()).fills
    assert softflowd.claims(spec()).reason("dst_mask", "softflowd") == "softflowd does not fill dst_mask"


def test_softflowd_rounds_timeouts_up_to_whole_seconds():
    (p,) = softflowd.launch(spec(inactive_timeout=0.2, active_timeout=90.01, scan_interval=2)).processes
    assert words(p.argv, "-t")[0] == "general=1" and "maxlife=91" in p.argv and "expint=2" in p.argv
    assert softflowd.claims().effective_timeout(0.2) == 1.0
    assert softflowd.claims().export_window(2.5) == (2.0, 5.0)


@pytest.mark.parametrize("setting", [{"engine_id": 3}, {"engine_type": 1}])
def test_softflowd_refuses_engine_fields(setting):
    with pytest.raises(Unsupported, match=r"p1: engine_(id|type): softflowd writes 0"):
        softflowd.launch(spec(**setting))


def test_pmacctd_config_and_interfaces_map():
    s = spec(collectors=(("10.0.9.2", 2055), ("10.0.9.3", 9995)), engine_type=7, engine_id=9, max_flows=4096)
    launch = pmacctd.launch(s)
    (p,) = launch.processes
    assert p.argv == ("pmacctd", "-f", "/run/lab/w/p1.pmacctd.conf") and p.packet_sockets == 2
    assert launch.files["/run/lab/w/p1.pmacctd.map"] == (
        "ifindex=2 ifname=eth0 direction=in\nifindex=7 ifname=eth1 direction=in\n")
    conf = dict(line.split(": ", 1) for line in launch.files["/run/lab/w/p1.pmacctd.conf"].splitlines())
    assert conf == {
        "daemonize": "false", "pcap_interfaces_map": "/run/lab/w/p1.pmacctd.map", "pcap_ifindex": "map",
        "promisc": "false",
        "plugins": "nfprobe[c0], nfprobe[c1]", "nfprobe_version": "5",
        "nfprobe_timeouts": "general=3:tcp=3:tcp.rst=3:tcp.fin=3:udp=3:icmp=3:maxlife=60:expint=1",
        "nfprobe_engine": "7:9", "nfprobe_maxflows": "4096",
        "nfprobe_receiver[c0]": "10.0.9.2:2055", "nfprobe_receiver[c1]": "10.0.9.3:9995"}
    assert launch.stop_signal == signal.SIGTERM and pmacctd.claims().engine_fields


def test_fprobe_runs_one_process_per_interface_each_its_own_exporter():
    launch = fprobe.launch(spec(scan_interval=2))
    assert [p.exports_from for p in launch.processes] == ["10.0.1.1", "10.0.2.1"]
    p0 = launch.processes[0].argv
    assert p0[:4] == ("fprobe", "-p", "-i", "eth0") and p0[-1] == "10.0.9.2:2055"
    assert (words(p0, "-x"), words(p0, "-a"), words(p0, "-f")) == (
        ["2:0"], ["10.0.1.1"], ["not ether src 02:00:00:00:00:01"])
    assert (words(p0, "-d"), words(p0, "-e"), words(p0, "-s"), words(p0, "-l")) == (
        ["3"], ["60"], ["2"], ["2:p1-eth0"])
    assert words(p0, "-c") == ["/run/lab/w/p1.fprobe-root"] and "/run/lab/w/p1.fprobe-root/var/run/.keep" in launch.files
    c = fprobe.claims()
    assert c.icmp == ICMP_SPORT_DPORT and not c.steady_uptime and not c.accounts_every_packet


def test_fprobe_needs_an_address_per_interface_and_no_flow_limit():
    (p,) = fprobe.launch(spec(Port("eth0", 2, "02:00:00:00:00:01"))).processes
    assert "-a" not in p.argv and p.exports_from is None
    with pytest.raises(Unsupported, match="each needs an address"):
        fprobe.launch(spec(ETH0, Port("eth1", 3, "02:00:00:00:00:03")))
    with pytest.raises(Unsupported, match="max_flows: fprobe has no flow-count limit"):
        fprobe.launch(spec(max_flows=100))


def test_claims_windows_and_reasons():
    c = Claims(fills={"input"}, unreliable={"output": "copies input"}, timeout_step_s=1, timer_window_s=(-1, 2))
    assert c.reason("input", "x") is None
    assert c.reason("output", "x") == "x copies input"
    assert c.reason("tos", "x") == "x does not fill tos"
    assert c.effective_timeout(15) == 15 and c.effective_timeout(15.2) == 16
    assert c.export_window(0.4) == (0.0, 3.0)
    with pytest.raises(ValueError, match=r"unknown record field\(s\) \['dstmask'\]"):
        Claims(fills={"dstmask"})


def test_the_labs_ifindex_overrides_reach_every_kind():
    s = spec(ifindex={"eth1": 9, "eth5": 12})  # eth5: an interface the probe does not capture on
    assert build_parser().parse_args(list(netflow_lab.launch(s).processes[0].argv[3:])).ifindex == [
        "eth1=9", "eth5=12"]
    assert "9:eth1" in softflowd.launch(spec(ETH1, ifindex={"eth1": 9})).processes[0].argv
    assert "ifindex=9 ifname=eth1 direction=in" in pmacctd.launch(s).files["/run/lab/w/p1.pmacctd.map"]
    assert [words(p.argv, "-x") for p in fprobe.launch(s).processes] == [["2:0"], ["9:0"]]


@pytest.mark.parametrize("name, words", [
    ("softflowd", lambda launch: words(launch.processes[0].argv, "-v")),
    ("pmacctd", lambda launch: [line.split(": ")[1] for line in launch.files["/run/lab/w/p1.pmacctd.conf"].splitlines()
                                if line.startswith("nfprobe_version")]),
    ("fprobe", lambda launch: words(launch.processes[0].argv, "-n")),
])
def test_the_version_reaches_the_tool_once(name, words):
    """softflowd took the -v in effect when -n was parsed: one -v, before -n, the lab's."""
    for version in kind(name).versions:
        launch = kind(name).launch(spec(version=version))
        assert words(launch) == [str(version)]
    (p,) = softflowd.launch(spec(version=9)).processes
    assert p.argv.index("-v") < p.argv.index("-n")


def test_softflowd_named_timeouts_and_the_idle_timeout_each_flow_expires_by():
    s = spec(ETH1, options=softflowd.Options(timeouts=(("udp", 7.0), ("tcp.rst", 0.4))))
    (p,) = softflowd.launch(s).processes
    assert words(p.argv, "-t") == ["general=3", "tcp=3", "tcp.rst=1", "tcp.fin=3", "udp=7", "icmp=3",
                                   "maxlife=60", "expint=1"]
    c = softflowd.claims(s)
    assert c.idle_timeout(2.5, 17) == 7 and c.idle_timeout(2.5, 1) == 2.5 and c.idle_timeout(2.5, 47) == 2.5
    assert c.idle_timeout(2.5, 6, rst=True) == 1 and c.idle_timeout(2.5, 6, fin=True) == 2.5
    assert softflowd.claims(spec()).idle_timeouts == {}


def test_pmacctd_takes_the_engines_timeouts_and_the_labs_config_lines():
    opts = pmacctd.Options(timeouts=(("icmp", 4.0),), config=(("snaplen", "128"), ("nfprobe_source_ip", "10.0.1.1")))
    launch = pmacctd.launch(spec(options=opts, version=10))
    conf = launch.files["/run/lab/w/p1.pmacctd.conf"].splitlines()
    assert "nfprobe_version: 10" in conf and conf[-2:] == ["snaplen: 128", "nfprobe_source_ip: 10.0.1.1"]
    engine = {v: [x for x in pmacctd.config(spec(version=v, engine_type=7, engine_id=1)).splitlines()
                  if x.startswith("nfprobe_engine")] for v in (5, 9, 10)}
    # v9/IPFIX: one number (its source id / domain); "7:1" makes it exit at start
    assert engine == {5: ["nfprobe_engine: 7:1"], 9: ["nfprobe_engine: 1793"], 10: ["nfprobe_engine: 1793"]}
    assert next(x for x in conf if x.startswith("nfprobe_timeouts")).split(":", 1)[1].split(":")[5] == "icmp=4"
    assert pmacctd.claims(spec(options=opts)).idle_timeout(2.5, 1) == 4
    assert pmacctd.CONFIG.refusal("nfprobe_receiver[c9]").startswith("write collectors:")
    assert pmacctd.CONFIG.refusal("nfprobe_source_ip") is None


def test_fprobe_options_become_its_flags():
    opts = fprobe.Options(pending_queue=100000, memory_limit=4096, emit_rate="1000:10", fragment_lifetime=7.5)
    p0 = fprobe.launch(spec(options=opts)).processes[0].argv
    assert (words(p0, "-q"), words(p0, "-m"), words(p0, "-t"), words(p0, "-g")) == (
        ["100000"], ["4096"], ["1000:10"], ["8"])
    assert "(-q, 100000 packets)" in fprobe.claims(spec(options=opts)).causes["accounts_every_packet"]
    assert "(-q, 100 packets)" in fprobe.claims().causes["accounts_every_packet"]
    assert words(fprobe.launch(spec()).processes[0].argv, "-g") == ["3"]  # the inactive timeout


def test_another_kinds_options_are_their_defaults():
    """--exporter runs a probe with another kind: the file's options were its own kind's."""
    s = spec(options=fprobe.Options(pending_queue=5))
    assert words(softflowd.launch(s).processes[0].argv, "-t")[4] == "udp=3"
    assert "-q" not in fprobe.launch(spec()).processes[0].argv


@pytest.mark.parametrize("name", list(KINDS))
def test_every_word_a_kind_writes_is_refused_in_args(name):
    """Whatever the lab's spec, no word of the kind's own argv (but the BPF filter, the collectors
    and the interface names) may be given again in args: each is in its flags' `sets`."""
    from testbed.exporters.options import collisions, refused_words
    k = kind(name)
    refused = refused_words(k.flags, k.Options)
    s = spec(max_flows=None if name == "fprobe" else 10, scan_interval=2,
             options=fprobe.Options(pending_queue=7) if name == "fprobe" else None)
    for p in k.launch(s).processes:
        argv = p.python_args if p.python_main else p.argv[1:]
        found = {flag for _, flag, _ in collisions(tuple(argv), k.flags, refused)}
        given = {w for w in argv if w.startswith("-") and len(w) > 1}
        assert given == found, (given - found, found - given)


def test_args_are_read_as_the_tools_parser_reads_them():
    from testbed.exporters.options import collisions
    f = softflowd.flags
    assert collisions(("-v", "9"), f, f.sets) == [(0, "-v", f.sets["-v"])]
    assert [c[1] for c in collisions(("-v9", "-dN", "-B", "-v", "-m5"), f, f.sets)] == ["-v", "-d", "-N", "-m"]
    assert collisions(("-s", "10", "-B", "65536", "not", "-x", "2"), f, f.sets) == []  # values and non-options
    g = netflow_lab.flags
    assert [c[1] for c in collisions(("--quirk", "uptime-seconds", "--inactive", "5", "-ieth0", "--ifindex=a=3"),
                                     g, g.sets)] == ["--inactive-timeout", "-i", "--ifindex"]


def test_netflow_labs_flags_are_the_probe_clis():
    """Every option of `python -m probe` that takes a value is declared so (else its value would be read as
    a flag), and every one the kind's launch writes is refused."""
    parser = build_parser()
    valued = {s for a in parser._actions if a.nargs != 0 and a.option_strings for s in a.option_strings}
    assert valued == set(netflow_lab.flags.takes_value)
    known = {s for a in parser._actions for s in a.option_strings}
    assert set(netflow_lab.flags.sets) <= known
