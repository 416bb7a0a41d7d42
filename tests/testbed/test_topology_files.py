"""Lab files: the examples are valid; broken files get `file:line: path: message` errors."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from testbed.plan import resolve
from testbed.plan.interfaces import ifindexes as plan
from testbed.topology import TopologyError, load, loads, validate
from testbed.__main__ import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))
INVALID = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))
MARK = "# error: "


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path):
    assert validate(path) == []


def expected_errors(path: Path) -> list[str]:
    """Each end-of-line `# error: PATH: MESSAGE` comment is one expected error on that line.
    {here} is the file's folder; {step_kinds} and {check_kinds} the registered kinds (so a
    new kind changes no test file)."""
    from testbed.expect.checks import CHECKS
    from testbed.traffic.steps import STEPS
    names = {"{here}": str(path.parent), "{step_kinds}": ", ".join(sorted(STEPS.kinds)),
             "{check_kinds}": ", ".join(sorted(CHECKS.kinds))}
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        for part in line.split(MARK)[1:]:
            text = part.strip()
            for key, value in names.items():
                text = text.replace(key, value)
            out.append(f"{path}:{n}: {text}")
    return out


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_files_report_every_error_with_its_line(path):
    problems = validate(path)
    assert sorted(map(str, problems)) == sorted(expected_errors(path))
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_load_raises_all_problems_at_once():
    with pytest.raises(TopologyError) as exc:
        load(INVALID[0])
    assert len(exc.value.problems) == len(expected_errors(INVALID[0])) > 1
    assert str(exc.value).splitlines() == [str(p) for p in exc.value.problems]


def test_cli_validate_exit_codes(capsys):
    assert cli_main(["validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert all(f"{p}: ok" in out for p in EXAMPLES)
    bad = INVALID[0]
    assert cli_main(["validate", str(EXAMPLES[0]), str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(expected_errors(bad))


def test_cli_validate_missing_file(capsys, tmp_path):
    assert cli_main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: No such file" in capsys.readouterr().err


def test_quickstart_model():
    t = load(ROOT / "topologies/quickstart.yaml")
    assert t.node("r1").is_router and not t.node("h1").is_router
    assert t.interface("r1:eth2").addresses == (IPv4Interface("10.255.0.1/30"),)  # from the pool
    assert t.address_of("c1") == IPv4Address("10.255.0.2")
    assert t.address_of("r1", on_link_with="h2") == IPv4Address("10.0.2.1")
    (default,) = t.node("h1").routes
    assert (default.via, default.dev, default.via_node) == (IPv4Address("10.0.1.1"), "eth0", "r1")
    assert default.iproute_args() == ["0.0.0.0/0", "via", "10.0.1.1", "dev", "eth0"]
    p = t.probes["p1"]
    argv = resolve(t).exporters["p1"].launch().processes[0].python_args
    assert argv[:6] == ("-i", "eth0", "-i", "eth1", "-n", "10.255.0.2:2055")
    assert (p.active_timeout, p.inactive_timeout, p.engine_id) == (60.0, 5.0, 1)
    assert [s.kind for s in t.traffic] == ["tcp", "udp", "ping"]
    assert t.traffic[1].tos == 16 and t.traffic[0].close == "fin"
    assert t.traffic[0].packets == 5 and t.traffic[1].sport == 40000  # defaults, applied when read
    flow = t.expect[0]
    assert (flow.probe, flow.in_if, flow.next_hop) == ("p1", "r1:eth0", IPv4Address("0.0.0.0"))
    assert flow.tcp_flags == 0x1B and flow.match.proto == 6 and flow.match.dport == 80
    assert t.expect[1].packets == (20, 20) and t.expect[4].window == (5.0, 7.0)


def test_routed_model():
    t = load(ROOT / "topologies/routed.yaml")
    assert t.interface("r1:eth1").addresses == (IPv4Interface("10.255.1.0/31"),)
    assert t.interface("r2:eth0").addresses == (IPv4Interface("10.255.1.1/31"),)
    assert [t.interface(f"{n}:eth0").addresses[0] for n in ("h2", "h3")] == [
        IPv4Interface("10.0.3.2/24"), IPv4Interface("10.0.3.3/24")]
    assert t.links[2].is_segment and t.interface("h3:eth0").mtu == 1400
    routes = {str(r.prefix): r for r in t.node("r1").routes}
    assert routes["10.66.0.0/16"].type == "blackhole" and routes["10.77.0.0/16"].type == "unreachable"
    assert str(routes["10.0.3.128/25"]) == "10.0.3.128/25 via 10.255.1.1 dev eth1 metric 5"
    change = next(s for s in t.traffic if s.kind == "route")
    assert str(change.route) == "10.0.3.0/24 via 10.255.1.1 dev eth1"
    assert t.expect[1].out_if == 0 and t.expect[1].match.dst == (IPv4Network("10.66.0.0/16"),)


def test_ifindex_plan_honours_pins():
    t = load(ROOT / "topologies/big-ifindex.yaml")
    got = plan(t)
    assert (got["r1:eth0"], got["r1:eth1"], got["r1:eth2"]) == (70000, 2, 3)
    assert got["h1:eth0"] == 2


def test_anchors_and_merge_keys_keep_lines():
    text = """\
name: merged
x-host: &host {kind: host}
nodes:
  h1:
    <<: *host
    interfaces: {eth0: 10.0.0.1/24}
  h2:
    <<: *host
    interface: {eth0: 10.0.0.2/24}
links: [h1:eth0 -- h2:eth0]
"""
    with pytest.raises(TopologyError) as exc:
        loads(text, "m.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "m.yaml:2: x-host: unknown field 'x-host' (known: name, nodes, description, reproduces, pools, links, "
        "collectors, probes, traffic, expect)",
        "m.yaml:9: nodes.h2.interface: unknown field 'interface' (did you mean 'interfaces'?)"]


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_mangled_examples_never_crash(path):
    """Delete each line, or replace each value or list item with junk: the result is
    a Topology or a TopologyError whose problems all name the file, never a traceback."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        head, sep, _ = line.partition(": ") if ": " in line else line.partition("- ")
        variants = [lines[:i] + lines[i + 1:]]
        if sep and not line.lstrip().startswith("#"):
            variants += [lines[:i] + [head + sep + junk] + lines[i + 1:]
                         for junk in ("[]", "{a: 1}", "x", "-1", "null", "'r1:eth9'", "[h1, 1]")]
        for mangled in variants:
            try:
                loads("\n".join(mangled), "q.yaml")
            except TopologyError as exc:
                assert exc.problems and all(str(p).startswith("q.yaml:") for p in exc.problems)
