"""`kind: command`: an argv template filled from the lab, and the claims its user states."""
from __future__ import annotations

import signal

import pytest

from exporters.samples import ETH0, ETH1, spec
from testbed.exporters import ICMP_DPORT, ICMP_SPORT_DPORT, CommandKind, Unsupported, claims_from_mapping

CLAIMS = claims_from_mapping({"fills": ["input", "tcp_flags"]})


def test_placeholders_fill_from_the_spec():
    k = CommandKind(["probe", "{interfaces:-i}", "{collectors:-n}", "--idle={inactive}", "--life", "{active}",
                     "--all={interfaces}", "{collector_host}", "{collector_port}", "{workdir}/{name}.log",
                     "{{literal}}"], CLAIMS, stop_signal=signal.SIGINT, settle_s=0.5)
    s = spec(collectors=(("10.0.9.2", 2055), ("10.0.9.3", 9995)), args=("--extra",))
    launch = k.launch(s)
    (p,) = launch.processes
    assert p.argv == ("probe", "-i", "eth0", "-i", "eth1", "-n", "10.0.9.2:2055", "-n", "10.0.9.3:9995",
                      "--idle=2.5", "--life", "60", "--all=eth0,eth1", "10.0.9.2", "2055", "/run/lab/w/p1.log",
                      "{literal}", "--extra")
    assert (launch.stop_signal, launch.settle_s, p.log) == (signal.SIGINT, 0.5, "/run/lab/w/p1.command.log")
    assert k.claims(s) is CLAIMS and k.name == "command" and k.package is None


def test_a_list_alone_in_a_word_gives_a_word_per_item():
    (p,) = CommandKind(["x", "{interfaces}", "{collectors}"], CLAIMS).launch(spec()).processes
    assert p.argv == ("x", "eth0", "eth1", "10.0.9.2:2055")


def test_interface_singular_runs_one_process_per_interface():
    k = CommandKind(["fprobe", "-i", "{interface}", "-x", "{ifindex}:0", "-a", "{address}",
                     "-f", "not ether src {mac}", "{collector}"], CLAIMS, packet_sockets=1)
    launch = k.launch(spec())
    assert [p.argv[2] for p in launch.processes] == ["eth0", "eth1"]
    assert launch.processes[1].argv == ("fprobe", "-i", "eth1", "-x", "7:0", "-a", "10.0.2.1",
                                        "-f", "not ether src 02:00:00:00:00:02", "10.0.9.2:2055")
    assert [p.exports_from for p in launch.processes] == [ETH0.address, ETH1.address]
    assert [p.log for p in launch.processes] == ["/run/lab/w/p1.command-eth0.log", "/run/lab/w/p1.command-eth1.log"]


@pytest.mark.parametrize("template, error", [
    (["x", "{interfcaes}"], r"unknown placeholder \{interfcaes\} \(did you mean 'interfaces'\?\)"),
    (["x", "--i={interfaces:-i}"], r"only \{interfaces:FLAG\} and \{collectors:FLAG\}, alone in a word"),
    (["x", "{inactive!r}"], r"only \{interfaces:FLAG\}"),
    (["x", "{interfaces:}x{collectors}"], r"word '\{interfaces:\}x\{collectors\}': only \{interfaces:FLAG\}"),
    (["x", "{interfaces:}"], r"alone in a word and with a flag after the colon"),
    (["x", "{inactive:}"], r"only \{interfaces:FLAG\}"),
    (["x", "{interfaces:-i}{collectors}"], r"only \{interfaces:FLAG\}"),
    (["x", "{ifindex}"], r"\{ifindex\}, \{mac\} and \{address\} need \{interface\}"),
    (["x", "{oops"], r"argv word '\{oops': "),
    ([], "an empty command"),
])
def test_bad_templates_say_which_word(template, error):
    with pytest.raises(ValueError, match=error):
        CommandKind(template, CLAIMS)


def test_a_value_the_lab_does_not_give_is_an_error():
    with pytest.raises(ValueError, match=r"argv word '--max=\{max_flows\}': the lab gives no value for \{max_flows\}"):
        CommandKind(["x", "--max={max_flows}"], CLAIMS).launch(spec())


def test_claims_block():
    c = claims_from_mapping({"fills": ["input", "output", "tos"], "unreliable": {"next_hop": "is the collector"},
                             "tos_in_key": True, "icmp": "dport", "timeout_step": 1, "timer_window": [-1, 3],
                             "steady_uptime": False, "unsupported": {"max_flows": "no such option"},
                             "capture_delay": 0.5, "notes": "measured by hand"})
    assert c.fills == {"input", "output", "tos"} and c.unreliable == {"next_hop": "is the collector"}
    assert (c.tos_in_key, c.icmp, c.timeout_step_s, c.timer_window_s, c.steady_uptime) == (
        True, ICMP_DPORT, 1.0, (-1.0, 3.0), False)
    assert c.notes == ("measured by hand",) and c.capture_delay_s == 0.5
    assert claims_from_mapping({"icmp": "sport-dport"}).icmp == ICMP_SPORT_DPORT
    assert claims_from_mapping({}).fills == frozenset()
    with pytest.raises(Unsupported, match="p1: max_flows: no such option"):
        CommandKind(["x"], c).launch(spec(max_flows=10))


@pytest.mark.parametrize("block, error", [
    ({"fill": ["input"]}, r"claims: unknown key 'fill' \(did you mean 'fills'\?\)"),
    ({"fills": ["dstmask"]}, r"claims.fills: unknown record field 'dstmask' \(did you mean 'dst_mask'\?\)"),
    ({"fills": 3}, "claims.fills: expected a list of record fields"),
    ({"icmp": "type-code"}, "claims.icmp: expected one of dport, sport-dport, none"),
    ({"tos_in_key": "yes"}, "claims.tos_in_key: expected true or false, got 'yes'"),
    ({"timer_window": [3, 1]}, r"claims.timer_window: 3.0 > 1.0"),
    ({"timer_window": 2}, r"claims.timer_window: expected \[lo, hi\] seconds"),
    ({"timeout_step": 0}, "claims.timeout_step: expected a positive number, got 0"),
    ({"capture_delay": -1}, r"claims.capture_delay: expected seconds >= 0, got -1"),
    ({"unreliable": ["output"]}, r"claims.unreliable: expected \{field: what it holds\}"),
])
def test_bad_claims_blocks_say_what_is_wrong(block, error):
    with pytest.raises(ValueError, match=error):
        claims_from_mapping(block)
