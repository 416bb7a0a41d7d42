"""`testbed gen line`: generated labs are valid lab files of the asked size."""
import pytest

from testbed.__main__ import main
from testbed.topology import loads
from testbed.topology.gen import line


@pytest.mark.parametrize("routers", [1, 2, 50, 250])
def test_a_line_is_a_valid_lab(routers):
    t = loads(line(routers))
    assert len([n for n in t.nodes.values() if n.is_router]) == routers
    assert len(t.probes) == routers and len(t.expect) == 2 * routers
    assert t.probes[f"p{routers}"].interfaces == ("eth0", "eth1")
    (udp,) = t.traffic
    assert udp.ttl == 255 and (udp.src, udp.to) == ("h1", "h2")


def test_probes_on_some_routers_or_none():
    assert sorted(loads(line(10, "3,1")).probes) == ["p1", "p3"]
    t = loads(line(4, "none"))
    assert not t.probes and not t.expect


@pytest.mark.parametrize("args,message", [
    (["--routers", "0"], "routers must be 1..250"),
    (["--routers", "251"], "routers must be 1..250"),
    (["--routers", "5", "--probes", "6"], "there is no router r6"),
    (["--routers", "5", "--probes", "x"], "'all', 'none' or router numbers"),
])
def test_bad_sizes_are_one_line(args, message, capsys):
    assert main(["gen", "line", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_writes_a_file_that_validates(tmp_path, capsys):
    out = tmp_path / "l.yaml"
    assert main(["gen", "line", "--routers", "3", "-o", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert "ok: line-3: 6 nodes" in capsys.readouterr().out
