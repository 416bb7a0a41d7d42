#!/usr/bin/env bash
# Record samples/office.pcap: real programs talking through a Linux router,
# captured on the router's LAN side, as an operator would bring it from the
# field. Three network namespaces of their own (client - router - server),
# removed at the end; nothing leaves them.
#
#   client 192.168.77.10 -- 192.168.77.1 router 198.51.100.1 -- 198.51.100.20 server
#
# What happens, in order: a DNS query and its answer (a tiny resolver), the
# same query again 4 s later from the same port (one flow key, two records
# when the inactive timeout is shorter), an HTTP transfer of 12 KB
# (python3 -m http.server and curl), 3 pings, a UDP iperf3 burst of 40
# datagrams. Offloads are off, so segments are no larger than the MTU, as on
# a real wire. Usage: samples/record-office.sh [OUT.pcap]
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null && exec sudo -E "$0" "$@"
  echo "$0: run as root" >&2; exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/office.pcap}
tag=nfrec$$
c=$tag-c r=$tag-r s=$tag-s
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $c $r $s; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
at() { local n=$1; shift; ip netns exec "$n" "$@"; }

for n in $c $r $s; do ip netns add "$n"; at "$n" ip link set lo up; done
ip link add eth0 netns $c type veth peer eth0 netns $r
ip link add eth1 netns $r type veth peer eth0 netns $s
for pair in "$c eth0" "$r eth0" "$r eth1" "$s eth0"; do
  set -- $pair
  at "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  at "$1" ip link set "$2" up
done
at $c ip addr add 192.168.77.10/24 dev eth0
at $r ip addr add 192.168.77.1/24 dev eth0
at $r ip addr add 198.51.100.1/24 dev eth1
at $s ip addr add 198.51.100.20/24 dev eth0
at $c ip route add default via 192.168.77.1
at $s ip route add default via 198.51.100.1
at $r sysctl -qw net.ipv4.ip_forward=1

head -c 12000 /dev/zero | tr '\0' 'x' > "$work/report.txt"
(cd "$work" && exec ip netns exec $s python3 -m http.server 8000 --bind 198.51.100.20) >/dev/null 2>&1 &
pids+=($!)
at $s python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.20", 53))
while True:  # answer every A query with 198.51.100.20
    q, peer = s.recvfrom(512)
    end = q.index(b"\0", 12) + 5
    s.sendto(q[:2] + b"\x81\x80\0\1\0\1\0\0\0\0" + q[12:end]
             + b"\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4" + bytes([198, 51, 100, 20]), peer)
' &
pids+=($!)
at $s iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
pids+=($!)
sleep 1  # the servers listen

at $r tcpdump -i eth0 -s 0 -U -w "$work/office.pcap" >/dev/null 2>&1 &
pids+=($!)
sleep 1  # tcpdump captures

query() {  # one A query for intranet.example from port 40053
  at $c python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.77.10", 40053))
s.settimeout(2)
s.sendto(b"\x12\x34\1\0\0\1\0\0\0\0\0\0\x08intranet\x07example\0\0\1\0\1", ("198.51.100.20", 53))
print(len(s.recv(512)), "bytes of answer")
'
}
query
sleep 4
query
sleep 0.3
at $c curl -s -o /dev/null -w "http %{http_code} %{size_download} bytes\n" http://198.51.100.20:8000/report.txt
sleep 0.3
at $c ping -c 3 -i 0.2 -q 198.51.100.20 | tail -1
sleep 0.3
at $c iperf3 -c 198.51.100.20 -p 5201 -u -b 400K -l 300 -k 40 >/dev/null
sleep 1
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
cp "$work/office.pcap" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
