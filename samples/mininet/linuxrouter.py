"""Mininet's linuxrouter.py example, as a team would bring it: a Linux router r0 between
three subnets (each behind a switch), hosts with default routes, plus a collector host c1 and
a shaped link. Run it as a lab:

    python -m testbed run --custom samples/mininet/linuxrouter.py --topo linuxrouter \\
        --expect samples/mininet/linuxrouter-checks.yaml
"""
from mininet.node import Node
from mininet.topo import Topo


class LinuxRouter(Node):
    "A Node with IP forwarding enabled."

    def config(self, **params):
        super().config(**params)
        self.cmd("sysctl net.ipv4.ip_forward=1")

    def terminate(self):
        self.cmd("sysctl net.ipv4.ip_forward=0")
        super().terminate()


class NetworkTopo(Topo):
    "A LinuxRouter connecting three IP subnets, and a collector on a link of its own."

    def build(self, **_opts):
        default_ip = "192.168.1.1/24"  # IP address for r0-eth1
        router = self.addNode("r0", cls=LinuxRouter, ip=default_ip)
        s1, s2, s3 = [self.addSwitch(s) for s in ("s1", "s2", "s3")]
        self.addLink(s1, router, intfName2="r0-eth1", params2={"ip": default_ip})
        self.addLink(s2, router, intfName2="r0-eth2", params2={"ip": "172.16.0.1/12"})
        self.addLink(s3, router, intfName2="r0-eth3", params2={"ip": "10.0.0.1/8"})
        h1 = self.addHost("h1", ip="192.168.1.100/24", defaultRoute="via 192.168.1.1")
        h2 = self.addHost("h2", ip="172.16.0.100/12", defaultRoute="via 172.16.0.1")
        h3 = self.addHost("h3", ip="10.0.0.100/8", defaultRoute="via 10.0.0.1")
        for h, s in [(h1, s1), (h2, s2), (h3, s3)]:
            self.addLink(h, s)
        c1 = self.addHost("c1", ip="192.168.255.2/30", defaultRoute="via 192.168.255.1")
        self.addLink(c1, router, intfName2="r0-eth4", params2={"ip": "192.168.255.1/30"}, bw=10)


topos = {"linuxrouter": NetworkTopo}
