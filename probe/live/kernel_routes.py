"""The namespace's IPv4 routes, mirrored in memory for the flow cache's lookups.

What a lookup answers, per address (Route(out_ifindex, next_hop, mask)):
* unicast route: the device's (exported) ifindex, the gateway (0 when on-link,
  and 0 when the gateway is not IPv4, e.g. `via inet6`), the prefix length;
* local, broadcast, anycast, multicast (the router itself): out ifindex 0;
* blackhole, unreachable, prohibit: out ifindex 0, next hop 0, their prefix;
* no route, or a `throw` with nothing behind it: None (the cache leaves 0s).

How it chooses like the kernel's input lookup (the one forwarding uses):
* tables local (255) and main (254) are one longest-prefix match, as the
  kernel merges them while there are no policy rules; on a tie the local
  table wins. The default table (253) is asked when they have no answer.
  Other tables and `ip rule`s are ignored.
* several routes of one prefix: the lowest metric wins (first in dump order
  on a tie); routes with a TOS are ignored (flows are looked up without one).
* multipath: the first next hop that is usable (the kernel hashes; a flow
  may really leave by another one of the group).
* a next hop is unusable when flagged dead (its device is down), or linkdown
  while net.ipv4.conf.{all,DEV}.ignore_routes_with_linkdown is set; a route
  with no usable next hop is skipped, as the kernel skips it. Single-path
  routes of a device that goes down are deleted by the kernel itself.
* multicast and limited-broadcast destinations get the unicast table's
  answer, as `ip route get fibmatch` shows it (the kernel delivers them
  without a unicast lookup; ng_netflow asked the table all the same).
* routes that use nexthop objects need net.ipv4.nexthop_compat_mode=1 (the
  default), which puts the device and gateway into the route dump.

Freshness: a netlink socket subscribed to link, IPv4 address, route and
netconf events; the daemon polls its fileno and calls `poll()`, which drains
the events and, if there were any, dumps links and routes and swaps in new
tables. IPv4 sends no RTM_DELROUTE for routes flushed with a device, hence
the link events. A flow created after the change is looked up in the new
table; a frame captured in the same few ms as a change (one poll turn) may
be looked up in either, as there is no common clock to order them by.
"""
from __future__ import annotations

import errno
import socket

from ..routes import Route, RouteTable
from .ifindex import IfindexMap

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV4_NETCONF = 1 << (24 - 1)  # RTNLGRP_IPV4_NETCONF = 24
GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_NETCONF

RT_TABLE_DEFAULT, RT_TABLE_MAIN, RT_TABLE_LOCAL = 253, 254, 255
RTN_UNICAST, RTN_THROW = 1, 9
LOCAL_TYPES = {2, 3, 4, 5}  # local, broadcast, anycast, multicast
REJECT_TYPES = {6, 7, 8}  # blackhole, unreachable, prohibit
RTNH_F_DEAD, RTNH_F_LINKDOWN = 1, 16
THROW = -1  # out_ifindex marker inside the tables only


class KernelRoutes:
    """A RouteLookup over the current network namespace's kernel routes."""

    def __init__(self, ifmap: IfindexMap | None = None) -> None:
        from pyroute2 import IPRoute  # import here: the core never needs it

        self.ifmap = ifmap or IfindexMap()
        self.links: dict[str, int] = {}
        self.refreshes = 0
        # subscribe before the first dump, so no change falls in between
        self._events = socket.socket(socket.AF_NETLINK,
                                     socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC,
                                     socket.NETLINK_ROUTE)
        try:
            self._events.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._events.bind((0, GROUPS))
            self._ipr = IPRoute()
        except BaseException:
            self._events.close()
            raise
        self._main = self._default = RouteTable()
        self.refresh()

    def fileno(self) -> int:
        return self._events.fileno()

    def poll(self) -> bool:
        """Drain pending events; rebuild the tables if there were any."""
        changed = False
        while True:
            try:
                if not self._events.recv(1 << 16):
                    break
                changed = True
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:  # overrun: events lost, so rebuild
                    raise
                changed = True
        if changed:
            self.refresh()
        return changed

    def refresh(self) -> None:
        links = {link.get("ifname"): link["index"] for link in self._ipr.link("dump")}
        self.links = links
        self.ifmap.update(links)
        ignore = _ignore_linkdown(links)
        self._main, self._default = build_tables(
            self._ipr.route("dump", family=socket.AF_INET), self.ifmap.map, ignore)
        self.refreshes += 1

    def lookup(self, addr: int) -> Route | None:
        route = self._main.lookup(addr)
        if route is None or route.out_ifindex == THROW:
            route = self._default.lookup(addr)
            if route is not None and route.out_ifindex == THROW:
                return None
        return route

    def close(self) -> None:
        self._events.close()
        self._ipr.close()


def build_tables(messages, map_ifindex, ignore_linkdown: set[int]) -> tuple[RouteTable, RouteTable]:
    """RTM_NEWROUTE messages (pyroute2 rtmsg) -> (local+main table, default table)."""
    best: dict[tuple[int, int, int], tuple[int, Route]] = {}
    for msg in messages:
        table = msg.get_attr("RTA_TABLE") or msg["table"]  # rtm_table is 8 bits
        if table not in (RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT) or msg["tos"]:
            continue
        route = _route(msg, map_ifindex, ignore_linkdown)
        if route is None:
            continue
        plen = msg["dst_len"]
        key = (table, _ip(msg.get("dst")) if plen else 0, plen)
        metric = msg.get("priority") or 0
        if key not in best or metric < best[key][0]:
            best[key] = (metric, route)
    main, default = RouteTable(), RouteTable()
    # main first, then local: the same prefix in both -> the local one stays
    for (table, net, plen), (_, route) in sorted(best.items(), key=lambda kv: kv[0][0] == RT_TABLE_LOCAL):
        (default if table == RT_TABLE_DEFAULT else main).add(net, plen, route)
    return main, default


def _route(msg, map_ifindex, ignore_linkdown: set[int]) -> Route | None:
    kind, plen = msg["type"], msg["dst_len"]
    if kind in LOCAL_TYPES or kind in REJECT_TYPES:
        return Route(0, 0, plen)
    if kind == RTN_THROW:
        return Route(THROW, 0, plen)
    if kind != RTN_UNICAST:
        return None  # nat and other relics
    hops = msg.get("multipath")
    if hops:
        candidates = [(h["oif"], h["flags"], h.get("gateway")) for h in hops]
    else:
        candidates = [(msg.get("oif"), msg["flags"], msg.get("gateway"))]
    for oif, flags, gateway in candidates:
        if not oif or flags & RTNH_F_DEAD:
            continue
        if flags & RTNH_F_LINKDOWN and oif in ignore_linkdown:
            continue
        return Route(map_ifindex(oif), _ip(gateway), plen)
    return None


def _ip(text: str | None) -> int:
    if not text:
        return 0
    try:
        return int.from_bytes(socket.inet_aton(text), "big")
    except OSError:
        return 0  # an IPv6 gateway (RTA_VIA): not representable in v5


def _ignore_linkdown(links: dict[str, int]) -> set[int]:
    """Indexes of devices whose linkdown next hops the kernel skips."""
    def flag(name: str) -> bool:
        try:
            with open(f"/proc/sys/net/ipv4/conf/{name}/ignore_routes_with_linkdown") as f:
                return f.read().strip() == "1"
        except OSError:
            return False
    if flag("all"):
        return set(links.values())
    return {idx for name, idx in links.items() if flag(name)}
