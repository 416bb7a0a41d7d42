# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, overflowcheck=False
"""The fast engine's compiled core: decode, flow table, expiry, v5 and v9 packing.

Same rules as the reference engine (probe/engine.py, cache.py, decode.py,
export.py), without quirks; differential tests hold the two to the same
datagrams, byte for byte. Sans-IO: time is an argument, nothing here reads a
clock or touches a socket.

The flow table: one 64-byte `Flow` per entry (the cache line every packet of
that flow touches: key, counters, times, LRU links), the creation-order links
in a separate array (touched only when a flow is created or expires), and an
open-addressing hash (linear probing, backward-shift deletion: no
tombstones) of (hash, index) slots, at most half full. Entries live in one
array that grows by a quarter up to `max_flows`; freed entries are reused
first. 72 B an entry, 8 B a slot: 91 B a flow at one million flows.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

from probe.constants cimport *  # the numbers of probe/constants.py (generated mirror)

cdef enum:
    NONE = -1
    MIN_CAPACITY = 1024
    # A ring frame rebuilt with its VLAN tag or a blank link header: the
    # decoder reads no further than 22 + 60 + 20 bytes into a frame, so the
    # first TMP_FRAME bytes are all it needs of a longer one.
    TMP_FRAME = 256
    # an offline packet's input ifindex (input_ifindex.InputIfindex), when no number:
    IF_PER_FRAME = -1  # the SLL2 header's
    IF_UNRESOLVED = -2  # not known yet: the pcapng walk hands the block back

PER_FRAME = IF_PER_FRAME
UNRESOLVED = IF_UNRESOLVED
MIRROR_BUILT = MIRROR  # the constants this was compiled with (probe.mirror.fingerprint())

# pcap walk outcomes
PCAP_MORE = 0  # the buffer ends inside a record: give more bytes
PCAP_BAD_LENGTH = 1  # a record longer than the file's limit
PCAPNG_MORE = 0  # the buffer ends inside a block
PCAPNG_OTHER = 1  # a block for the reference reader


ctypedef struct Link:  # an entry's place in one of the two orders
    int32_t prev
    int32_t next

ctypedef struct Key:  # ng_netflow's flow key (probe.packet.FlowKey), 20 bytes
    uint32_t src
    uint32_t dst
    uint32_t in_if
    uint16_t sport
    uint16_t dport
    uint8_t proto
    uint8_t tos

ctypedef struct Flow:  # 64 bytes
    Key key
    uint8_t tcp_flags
    uint8_t src_mask
    uint8_t dst_mask
    uint32_t out_if
    uint32_t next_hop
    uint32_t packets
    uint32_t octets
    int64_t first
    int64_t last
    Link lru  # by last activity: the head is the least recently used (and the free list)

ctypedef struct Chain:  # a doubly linked list through one Link of every entry
    int32_t head
    int32_t tail
    char *base  # entry 0's Link
    Py_ssize_t stride  # from one entry's Link to the next one's

ctypedef struct Slot:
    uint32_t hash
    uint32_t ref  # entry index + 1; 0: empty

ctypedef struct Facts:  # one decoded IPv4 packet
    Key key
    uint8_t flags
    uint8_t truncated
    uint32_t octets


assert sizeof(Flow) == 64 and sizeof(Key) == 20, "one flow, one cache line"


cdef inline uint16_t be16(const uint8_t *p) noexcept nogil:
    return (p[0] << 8) | p[1]


cdef inline uint32_t be32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint32_t le32(const uint8_t *p) noexcept nogil:
    return (<uint32_t>p[3] << 24) | (<uint32_t>p[2] << 16) | (<uint32_t>p[1] << 8) | p[0]


cdef inline uint32_t rd32(const uint8_t *p) noexcept nogil:  # native order (the ring's)
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline uint16_t rd16(const uint8_t *p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline void put16(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = (v >> 8) & 255
    p[1] = v & 255


cdef inline void put32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = (v >> 16) & 255
    p[2] = (v >> 8) & 255
    p[3] = v & 255


cdef inline int64_t floordiv(int64_t a, int64_t b) noexcept nogil:
    cdef int64_t q = a // b  # C truncates; Python floors
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef int decode(const uint8_t *buf, Py_ssize_t n, int linktype, bint icmp_ports,
                Py_ssize_t wire_len, bint outgoing, Facts *out) noexcept nogil:
    """decode.decode(): 0 and `out` filled, or a Skip code."""
    cdef Py_ssize_t off
    cdef int tags = 0
    cdef uint16_t ethertype
    if linktype == DLT_EN10MB:
        if n < ETH_HEADER:
            return SKIP_SHORT_LINK_HEADER
        ethertype = be16(buf + 12)
        off = ETH_HEADER
    elif linktype == DLT_RAW or linktype == DLT_RAW_BSD or linktype == DLT_IPV4:
        return decode_ipv4(buf, n, 0, icmp_ports, wire_len, out)
    elif linktype == DLT_LINUX_SLL:
        if n < SLL_HEADER:
            return SKIP_SHORT_LINK_HEADER
        if be16(buf) == PACKET_OUTGOING and not outgoing:
            return SKIP_OUTGOING
        ethertype = be16(buf + 14)
        off = SLL_HEADER
    elif linktype == DLT_LINUX_SLL2:
        if n < SLL2_HEADER:
            return SKIP_SHORT_LINK_HEADER
        if buf[10] == PACKET_OUTGOING and not outgoing:
            return SKIP_OUTGOING
        if be16(buf) != ETH_IPV4:
            return SKIP_NOT_IPV4
        return decode_ipv4(buf, n, SLL2_HEADER, icmp_ports, wire_len, out)
    else:
        return SKIP_UNSUPPORTED_LINKTYPE
    while ethertype == VLAN_8021Q or ethertype == VLAN_8021AD or ethertype == VLAN_QINQ:
        tags += 1  # Ethernet and SLL: up to two VLAN tags
        if tags > MAX_VLAN_TAGS:
            return SKIP_TOO_MANY_VLAN_TAGS
        if n < off + VLAN_TAG:
            return SKIP_SHORT_LINK_HEADER
        ethertype = be16(buf + off + 2)
        off += VLAN_TAG
    if ethertype != ETH_IPV4:
        return SKIP_NOT_IPV4
    return decode_ipv4(buf, n, off, icmp_ports, wire_len, out)


cdef int decode_ipv4(const uint8_t *buf, Py_ssize_t n, Py_ssize_t off, bint icmp_ports,
                     Py_ssize_t wire_len, Facts *out) noexcept nogil:
    cdef const uint8_t *ip = buf + off
    cdef Py_ssize_t hlen, have, l4, need, big
    cdef uint32_t total
    cdef uint8_t proto
    if n < off + IPV4_HEADER:
        return SKIP_SHORT_IP_HEADER if n > off else SKIP_EMPTY_IP
    if ip[0] >> 4 != 4:
        return SKIP_NOT_IPV4 if ip[0] >> 4 == 6 else SKIP_BAD_IP_VERSION
    hlen = (ip[0] & 0x0F) * 4
    if hlen < IPV4_HEADER:
        return SKIP_BAD_IHL
    if n < off + hlen:
        return SKIP_SHORT_IP_HEADER
    total = be16(ip + 2)
    proto = ip[9]
    if total < hlen:  # BIG TCP (also in a UDP tunnel): total length 0, the length on the
        big = (wire_len if wire_len else n) - off  # wire (past 64 KiB) instead
        if total or (proto != TCP and proto != UDP) or big <= U16_MAX or big > GSO_MAX_SIZE:
            return SKIP_BAD_TOTAL_LENGTH
        total = <uint32_t>big
    out.key.tos = ip[1]
    out.octets = total
    out.key.proto = proto
    out.key.src = be32(ip + 12)
    out.key.dst = be32(ip + 16)
    out.key.sport = 0
    out.key.dport = 0
    out.flags = 0
    out.truncated = 0
    if be16(ip + 6) & IP_OFFMASK:  # later fragments: ports 0, own flow
        return 0
    l4 = off + hlen
    have = total - hlen  # what the packet holds, and what the capture kept
    if n - l4 < have:
        have = n - l4
    if proto == TCP or proto == UDP:
        need = TCP_HEADER if proto == TCP else UDP_HEADER
        if have < need:
            out.truncated = 1
        else:
            out.key.sport = be16(buf + l4)
            out.key.dport = be16(buf + l4 + 2)
            if proto == TCP:
                out.flags = buf[l4 + 13]
    elif proto == ICMP and icmp_ports:
        if have < ICMP_TYPE_CODE:
            out.truncated = 1
        else:
            out.key.dport = be16(buf + l4)  # type*256 + code
    return 0


cdef inline uint32_t key_hash(const Key *p, uint64_t seed) noexcept nogil:
    cdef uint64_t h = seed ^ ((<uint64_t>p.src << 32) | p.dst)
    h *= 0x9E3779B97F4A7C15ULL
    h ^= (<uint64_t>p.sport << 48) | (<uint64_t>p.dport << 32) | p.in_if
    h *= 0xC2B2AE3D27D4EB4FULL
    h ^= (<uint64_t>p.proto << 8) | p.tos
    h ^= h >> 33  # murmur3's finaliser
    h *= 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 33
    return <uint32_t>h


cdef inline Link *link(Chain *c, int32_t i) noexcept nogil:
    return <Link *>(c.base + i * c.stride)


cdef inline void unlink(Chain *c, int32_t i) noexcept nogil:
    cdef Link *l = link(c, i)
    if l.prev != NONE:
        link(c, l.prev).next = l.next
    else:
        c.head = l.next
    if l.next != NONE:
        link(c, l.next).prev = l.prev
    else:
        c.tail = l.prev


cdef inline void append(Chain *c, int32_t i) noexcept nogil:
    cdef Link *l = link(c, i)
    l.prev = c.tail
    l.next = NONE
    if c.tail != NONE:
        link(c, c.tail).next = i
    else:
        c.head = i
    c.tail = i


cdef inline bint same_key(const Key *a, const Key *b) noexcept nogil:
    return (a.src == b.src and a.dst == b.dst and a.sport == b.sport and a.dport == b.dport
            and a.proto == b.proto and a.tos == b.tos and a.in_if == b.in_if)


cdef class Engine:
    """Frames and time in, v5 datagrams out (see probe/fast/engine.py)."""

    cdef Flow *flows
    cdef Link *links  # by creation: the head is the oldest flow
    cdef Slot *slots
    cdef uint32_t slot_mask
    cdef int32_t capacity  # entries allocated
    cdef int32_t used  # entries ever handed out (below capacity)
    cdef int32_t free_head
    cdef int32_t count  # live flows
    cdef Chain lru, age
    cdef readonly int64_t max_flows
    cdef public int64_t active_ms, inactive_ms
    cdef readonly int64_t scan_ms
    cdef readonly bint icmp_ports
    cdef readonly bint outgoing  # count what the capturing host sent (Config.outgoing)
    cdef uint64_t seed
    cdef uint32_t hash_mask, hash_or  # tests narrow the hash to force collisions
    cdef object routes

    cdef readonly bint started
    cdef readonly int64_t start_ms
    cdef readonly int64_t now
    cdef readonly int64_t next_scan
    cdef readonly int64_t last_frame_ms  # the last frame's time, accounted or not

    # export
    cdef readonly uint32_t engine_type, engine_id
    cdef readonly int export_version  # 5 or 9
    # v5: records before the next datagram; v9: datagrams before it (tests may set it)
    cdef public uint32_t sequence
    cdef uint8_t pending[MAX_DATAGRAM]  # the datagram being filled, header and all
    cdef uint8_t pending_reasons[V5_MAX_RECORDS]
    cdef int pending_n
    cdef int capacity_n  # records the datagram being filled holds
    cdef int records_at  # where its first record goes
    # v9: the template set (probe.v9.TEMPLATE_SET), and when it last rode in a datagram
    cdef uint8_t template[V9_TEMPLATE_SET_SIZE]
    cdef bint with_template, template_sent
    cdef int64_t template_ms, template_at_ms
    cdef uint32_t template_packets, template_at_seq
    cdef uint32_t source_id  # v9.source_id(engine_type, engine_id)
    cdef public list out  # (datagram bytes, Expiry codes bytes)

    # counters (probe.stats.Stats names)
    cdef readonly uint64_t frames, packets, octets, truncated, flows_created, evictions
    cdef readonly uint64_t ifindex_clamped, active_flows, expired_total
    cdef uint64_t skipped_n[N_SKIP]
    cdef uint64_t exported_n[N_EXPIRY]

    def __cinit__(self, *, int64_t max_flows=MAX_FLOWS, int64_t active_ms=ACTIVE_MS,
                  int64_t inactive_ms=INACTIVE_MS, int64_t scan_ms=SCAN_MS, int engine_type=0,
                  int engine_id=0, bint icmp_ports=True, routes=None, start_ms=None,
                  uint64_t seed=0, int64_t capacity=0, uint32_t hash_mask=U32_MAX,
                  uint32_t hash_or=0, int export_version=V5_VERSION,
                  int64_t template_ms=V9_TEMPLATE_S * 1000,
                  int64_t template_packets=V9_TEMPLATE_PACKETS, bytes template_set=None,
                  uint32_t source_id=0, bint outgoing=False):
        if max_flows < 1 or max_flows > MAX_FLOWS_LIMIT:
            raise ValueError("max_flows must be 1..2^30")
        if active_ms <= 0 or inactive_ms <= 0 or scan_ms <= 0:
            raise ValueError("timeouts and scan interval must be positive")
        if not (0 <= engine_type <= ENGINE_MAX and 0 <= engine_id <= ENGINE_MAX):
            raise ValueError("engine type and id must be 0..255")
        if export_version == V9_VERSION:
            if template_set is None or len(template_set) != V9_TEMPLATE_SET_SIZE:
                raise ValueError("v9: give the template set (probe.v9.TEMPLATE_SET)")
            if template_ms <= 0 or not 0 < template_packets <= U32_MAX:
                raise ValueError("template refresh: time and datagrams must be positive")
            memcpy(self.template, PyBytes_AS_STRING(template_set), V9_TEMPLATE_SET_SIZE)
        elif export_version != V5_VERSION:
            raise ValueError(f"no export version {export_version} (5 or 9)")
        self.export_version = export_version
        self.source_id = source_id
        self.template_ms = template_ms
        self.template_packets = <uint32_t>template_packets
        self.max_flows = max_flows
        self.active_ms = active_ms
        self.inactive_ms = inactive_ms
        self.scan_ms = scan_ms
        self.engine_type = engine_type
        self.engine_id = engine_id
        self.icmp_ports = icmp_ports
        self.outgoing = outgoing
        self.routes = routes
        self.seed = seed
        self.hash_mask, self.hash_or = hash_mask, hash_or
        self.out = []
        self.free_head = self.lru.head = self.lru.tail = self.age.head = self.age.tail = NONE
        if capacity <= 0:
            capacity = MIN_CAPACITY
        self._allocate(min(max_flows, capacity))
        if start_ms is not None:
            self.start(start_ms)

    def __dealloc__(self):
        free(self.flows)
        free(self.links)
        free(self.slots)

    def start(self, int64_t start_ms):
        """The probe's start: uptime 0, first scan due one interval later."""
        self.started = True
        self.start_ms = self.now = start_ms
        self.next_scan = start_ms + self.scan_ms

    # -- the table -----------------------------------------------------------

    cdef int _allocate(self, int64_t capacity) except -1:
        cdef Flow *flows = <Flow *>realloc(self.flows, capacity * sizeof(Flow))
        if flows == NULL:
            raise MemoryError()
        self.flows = flows
        self.lru.base, self.lru.stride = <char *>&flows[0].lru, sizeof(Flow)
        cdef Link *links = <Link *>realloc(self.links, capacity * sizeof(Link))
        if links == NULL:
            raise MemoryError()
        self.links = links
        self.age.base, self.age.stride = <char *>links, sizeof(Link)
        self.capacity = <int32_t>capacity
        cdef uint64_t nslots = 2
        while nslots < 2 * <uint64_t>capacity:
            nslots <<= 1
        if self.slots == NULL or nslots - 1 != self.slot_mask:
            self._rehash(nslots)
        return 0

    cdef int _rehash(self, uint64_t nslots) except -1:
        cdef Slot *new = <Slot *>calloc(nslots, sizeof(Slot))
        if new == NULL:
            raise MemoryError()
        cdef uint32_t mask = <uint32_t>(nslots - 1), i, j
        cdef Slot *old = self.slots
        if old != NULL:
            for i in range(self.slot_mask + 1):
                if old[i].ref:
                    j = old[i].hash & mask
                    while new[j].ref:
                        j = (j + 1) & mask
                    new[j] = old[i]
            free(old)
        self.slots = new
        self.slot_mask = mask
        return 0

    cdef inline uint32_t _hash(self, const Key *p) noexcept nogil:
        return (key_hash(p, self.seed) & self.hash_mask) | self.hash_or

    cdef inline int32_t _find(self, const Key *p, uint32_t h, uint32_t *where) noexcept nogil:
        cdef uint32_t i = h & self.slot_mask
        cdef Slot *s
        while True:
            s = &self.slots[i]
            if s.ref == 0:
                where[0] = i
                return NONE
            if s.hash == h and same_key(&self.flows[s.ref - 1].key, p):
                where[0] = i
                return s.ref - 1
            i = (i + 1) & self.slot_mask

    cdef void _unhash(self, int32_t idx) noexcept nogil:
        """Remove entry `idx` from the hash: find its slot, shift its run back."""
        cdef uint32_t mask = self.slot_mask
        cdef uint32_t i = self._hash(&self.flows[idx].key) & mask, j, home
        while self.slots[i].ref != <uint32_t>idx + 1:
            i = (i + 1) & mask
        j = i
        while True:
            j = (j + 1) & mask
            if self.slots[j].ref == 0:
                break
            home = self.slots[j].hash & mask
            # the entry at j stays if its home lies cyclically in (i, j]
            if (i < j and i < home <= j) or (i > j and (home > i or home <= j)):
                continue
            self.slots[i] = self.slots[j]
            i = j
        self.slots[i].ref = 0

    cdef int32_t _new_entry(self) except -2:
        cdef int32_t i
        if self.free_head != NONE:
            i = self.free_head
            self.free_head = self.flows[i].lru.next
            return i
        if self.used == self.capacity:  # by a quarter: at most 25% unused
            self._allocate(min(self.max_flows, self.capacity + self.capacity // 4 + 1))
        i = self.used
        self.used += 1
        return i

    # -- accounting (cache.add) ------------------------------------------------

    cdef int _packet(self, Facts *p, int64_t now) except -1:
        cdef uint32_t h, where
        cdef int32_t i
        cdef Flow *f
        if now > self.now:  # the clock never steps back
            self.now = now
        now = self.now
        if now >= self.next_scan:
            self._timer(now)
        if p.truncated:
            self.truncated += 1
        cdef uint64_t expired_before = self.expired_total
        h = self._hash(&p.key)
        i = self._find(&p.key, h, &where)
        if i != NONE and <uint64_t>self.flows[i].octets + p.octets > U32_MAX:
            # only a BIG TCP packet (over 64 KiB) can pass OCTETS_LIMIT: the flow
            # leaves before its counter would wrap, the packet starts a new one
            self._expire(i, EXPIRY_COUNTER_OVERFLOW, now)
            i = NONE
        if i == NONE:
            self._add_new(p, h, now)
        else:
            f = &self.flows[i]
            if i != self.lru.tail:
                unlink(&self.lru, i)
                append(&self.lru, i)
            f.packets += 1
            f.octets += p.octets
            f.tcp_flags |= p.flags
            f.last = now
            if p.flags & (TH_FIN | TH_RST):
                self._expire(i, EXPIRY_TCP_FIN_RST, now)
            elif now - f.first > self.active_ms:
                self._expire(i, EXPIRY_ACTIVE, now)
            elif f.octets >= OCTETS_LIMIT:
                self._expire(i, EXPIRY_COUNTER_OVERFLOW, now)
        self.packets += 1
        self.octets += p.octets
        if self.expired_total != expired_before:  # as Probe._export after the packet
            self.active_flows = self.count
        return 0

    cdef int _add_new(self, Facts *p, uint32_t h, int64_t now) except -1:
        cdef uint32_t where
        cdef uint32_t out_if = 0, next_hop = 0
        cdef uint8_t dst_mask = 0, src_mask = 0
        if self.count >= self.max_flows:
            self.evictions += 1
            self._expire(self.lru.head, EXPIRY_EVICTED, now)
        if self.routes is not None:  # before the entry exists: a raising lookup leaves none
            route = self.routes.lookup(p.key.dst)
            if route is not None:
                out_if, next_hop, dst_mask = route
            route = self.routes.lookup(p.key.src)
            if route is not None:
                src_mask = route[2]
        cdef int32_t i = self._new_entry()
        self._find(&p.key, h, &where)  # the slot may have moved (eviction, growth)
        self.slots[where].hash = h
        self.slots[where].ref = i + 1
        cdef Flow *f = &self.flows[i]
        f.key = p.key
        f.packets = 1
        f.octets = p.octets
        f.tcp_flags = p.flags
        f.first = f.last = now
        f.out_if, f.next_hop, f.dst_mask, f.src_mask = out_if, next_hop, dst_mask, src_mask
        append(&self.lru, i)
        append(&self.age, i)
        self.count += 1
        self.flows_created += 1
        if p.flags & (TH_FIN | TH_RST):
            self._expire(i, EXPIRY_TCP_FIN_RST, now)
        return 0

    # -- expiry ------------------------------------------------------------------

    cdef int _expire(self, int32_t i, int reason, int64_t now) except -1:
        """Take entry `i` out of the table and pack its record (stamped `now`
        if that fills a datagram)."""
        cdef Flow *f = &self.flows[i]
        self._unhash(i)
        unlink(&self.lru, i)
        unlink(&self.age, i)
        self.count -= 1
        self.exported_n[reason] += 1
        self.expired_total += 1
        self._record(f, reason, now)
        f.lru.next = self.free_head
        self.free_head = i
        return 0

    cdef int _timer(self, int64_t now) except -1:
        """Every scan due by `now`, each at its own scheduled time."""
        cdef int64_t at
        if now > self.now:
            self.now = now
        now = self.now
        if now >= self.next_scan and (now - self.next_scan) // self.scan_ms > MAX_CATCHUP_SCANS:
            self.next_scan = now - (now - self.next_scan) % self.scan_ms
        while self.next_scan <= now:
            at = self.next_scan
            self._scan(at)
            self.active_flows = self.count
            self._emit(at)  # so no record waits more than one scan
            self.next_scan = at + self.scan_ms
        return 0

    cdef int _scan(self, int64_t now) except -1:
        while self.lru.head != NONE and now - self.flows[self.lru.head].last > self.inactive_ms:
            self._expire(self.lru.head, EXPIRY_INACTIVE, now)
        while self.age.head != NONE and now - self.flows[self.age.head].first > self.active_ms:
            self._expire(self.age.head, EXPIRY_ACTIVE, now)
        return 0

    # -- export ------------------------------------------------------------------

    cdef int _record(self, Flow *f, int reason, int64_t now) except -1:
        if self.pending_n == 0:
            self._open(now)
        cdef uint32_t inp = f.key.in_if, outp = f.out_if
        if inp > IFINDEX_MAX or outp > IFINDEX_MAX:
            self.ifindex_clamped += 1
            inp = min(inp, IFINDEX_MAX)
            outp = min(outp, IFINDEX_MAX)
        if self.export_version == V9_VERSION:
            self._put_v9(self.pending + self.records_at + self.pending_n * V9_RECORD_SIZE, f,
                         inp, outp)
        else:
            self._put_v5(self.pending + self.records_at + self.pending_n * V5_RECORD_SIZE, f,
                         inp, outp)
        self.pending_reasons[self.pending_n] = reason
        self.pending_n += 1
        if self.pending_n == self.capacity_n:
            self._emit(now)
        return 0

    cdef void _open(self, int64_t now) noexcept:
        """A datagram starts filling at `now` (v5.V5Encoder.open, v9.V9Encoder.open)."""
        if self.export_version == V5_VERSION:
            self.capacity_n, self.records_at = V5_MAX_RECORDS, V5_HEADER_SIZE
            return
        self.with_template = (not self.template_sent or now - self.template_at_ms >= self.template_ms
                              or self.sequence - self.template_at_seq >= self.template_packets)
        self.records_at = V9_HEADER_SIZE + V9_SET_HEADER_SIZE
        self.capacity_n = V9_RECORDS_WITHOUT_TEMPLATE
        if self.with_template:
            self.template_sent = True
            self.template_at_ms, self.template_at_seq = now, self.sequence
            memcpy(self.pending + V9_HEADER_SIZE, self.template, V9_TEMPLATE_SET_SIZE)
            self.records_at += V9_TEMPLATE_SET_SIZE
            self.capacity_n = V9_RECORDS_WITH_TEMPLATE

    cdef inline void _put_v5(self, uint8_t *r, Flow *f, uint32_t inp, uint32_t outp) noexcept:
        put32(r + V5_RECORD_SRC, f.key.src)
        put32(r + V5_RECORD_DST, f.key.dst)
        put32(r + V5_RECORD_NEXT_HOP, f.next_hop)
        put16(r + V5_RECORD_INPUT, inp)
        put16(r + V5_RECORD_OUTPUT, outp)
        put32(r + V5_RECORD_PACKETS, f.packets)
        put32(r + V5_RECORD_OCTETS, f.octets)
        put32(r + V5_RECORD_FIRST, <uint32_t>(f.first - self.start_ms))
        put32(r + V5_RECORD_LAST, <uint32_t>(f.last - self.start_ms))
        put16(r + V5_RECORD_SPORT, f.key.sport)
        put16(r + V5_RECORD_DPORT, f.key.dport)
        r[V5_RECORD_PAD1] = 0
        r[V5_RECORD_TCP_FLAGS] = f.tcp_flags
        r[V5_RECORD_PROTO] = f.key.proto
        r[V5_RECORD_TOS] = f.key.tos
        put16(r + V5_RECORD_SRC_AS, 0)
        put16(r + V5_RECORD_DST_AS, 0)
        r[V5_RECORD_SRC_MASK] = f.src_mask
        r[V5_RECORD_DST_MASK] = f.dst_mask
        put16(r + V5_RECORD_PAD2, 0)

    cdef inline void _put_v9(self, uint8_t *r, Flow *f, uint32_t inp, uint32_t outp) noexcept:
        put32(r + V9_RECORD_SRC, f.key.src)
        put32(r + V9_RECORD_DST, f.key.dst)
        put32(r + V9_RECORD_NEXT_HOP, f.next_hop)
        put16(r + V9_RECORD_INPUT, inp)
        put16(r + V9_RECORD_OUTPUT, outp)
        put32(r + V9_RECORD_PACKETS, f.packets)
        put32(r + V9_RECORD_OCTETS, f.octets)
        put32(r + V9_RECORD_FIRST, <uint32_t>(f.first - self.start_ms))
        put32(r + V9_RECORD_LAST, <uint32_t>(f.last - self.start_ms))
        put16(r + V9_RECORD_SPORT, f.key.sport)
        put16(r + V9_RECORD_DPORT, f.key.dport)
        r[V9_RECORD_TCP_FLAGS] = f.tcp_flags
        r[V9_RECORD_PROTO] = f.key.proto
        r[V9_RECORD_TOS] = f.key.tos
        put32(r + V9_RECORD_SRC_AS, 0)
        put32(r + V9_RECORD_DST_AS, 0)
        r[V9_RECORD_SRC_MASK] = f.src_mask
        r[V9_RECORD_DST_MASK] = f.dst_mask
        put16(r + V9_RECORD_ICMP_TYPE, f.key.dport if f.key.proto == ICMP else 0)

    cdef int _emit(self, int64_t now) except -1:
        """What is pending, as one datagram stamped `now`."""
        cdef int n = self.pending_n
        if n == 0:
            return 0
        cdef Py_ssize_t size
        if self.export_version == V9_VERSION:
            size = self._head_v9(n, now)
        else:
            size = self._head_v5(n, now)
        data = PyBytes_FromStringAndSize(<char *>self.pending, size)
        reasons = PyBytes_FromStringAndSize(<char *>self.pending_reasons, n)
        self.pending_n = 0
        self.out.append((data, reasons))
        return 0

    cdef Py_ssize_t _head_v5(self, int n, int64_t now) noexcept:
        """The v5 header of `n` records; the datagram's size."""
        cdef uint8_t *h = self.pending
        cdef int64_t secs = floordiv(now, 1000)
        put16(h + V5_HEADER_VERSION, V5_VERSION)
        put16(h + V5_HEADER_COUNT, n)
        put32(h + V5_HEADER_SYS_UPTIME, <uint32_t>(now - self.start_ms))
        put32(h + V5_HEADER_UNIX_SECS, <uint32_t>secs)
        put32(h + V5_HEADER_UNIX_NSECS, <uint32_t>((now - secs * 1000) * 1000000))
        put32(h + V5_HEADER_FLOW_SEQUENCE, self.sequence)
        h[V5_HEADER_ENGINE_TYPE] = self.engine_type
        h[V5_HEADER_ENGINE_ID] = self.engine_id
        put16(h + V5_HEADER_SAMPLING_INTERVAL, 0)
        self.sequence += n
        return V5_HEADER_SIZE + n * V5_RECORD_SIZE

    cdef Py_ssize_t _head_v9(self, int n, int64_t now) noexcept:
        """The v9 header and data set header of `n` records (the template set, if
        any, went in at _open), the padding; the datagram's size."""
        cdef uint8_t *h = self.pending
        cdef Py_ssize_t end = self.records_at + n * V9_RECORD_SIZE
        cdef Py_ssize_t pad = (4 - (end - self.records_at + V9_SET_HEADER_SIZE) % 4) % 4
        put16(h + V9_HEADER_VERSION, V9_VERSION)
        put16(h + V9_HEADER_COUNT, n + self.with_template)
        put32(h + V9_HEADER_SYS_UPTIME, <uint32_t>(now - self.start_ms))
        put32(h + V9_HEADER_UNIX_SECS, <uint32_t>floordiv(now, 1000))
        put32(h + V9_HEADER_SEQUENCE, self.sequence)
        put32(h + V9_HEADER_SOURCE_ID, self.source_id)
        put16(h + self.records_at - V9_SET_HEADER_SIZE + V9_SET_HEADER_SET_ID, V9_TEMPLATE_ID)
        put16(h + self.records_at - V9_SET_HEADER_SIZE + V9_SET_HEADER_LENGTH,
              <uint32_t>(end + pad - self.records_at + V9_SET_HEADER_SIZE))
        memset(h + end, 0, pad)
        self.sequence += 1
        return end + pad

    # -- the driver's calls ------------------------------------------------------

    cdef inline int _frame(self, const uint8_t *buf, Py_ssize_t n, int linktype,
                           uint32_t ifindex, int64_t now, Py_ssize_t wire_len) except -1:
        cdef Facts p
        cdef int code
        self.frames += 1
        self.last_frame_ms = now
        code = decode(buf, n, linktype, self.icmp_ports, wire_len, self.outgoing, &p)
        if code:
            self.skipped_n[code] += 1
            return 0
        p.key.in_if = ifindex
        return self._packet(&p, now)

    cdef inline int _offline_frame(self, const uint8_t *buf, Py_ssize_t n, int linktype,
                                   int64_t ifindex, int64_t now, Py_ssize_t wire_len) except -1:
        """A capture file's frame; `ifindex` PER_FRAME: the SLL2 header's."""
        if ifindex == IF_PER_FRAME:
            ifindex = be32(buf + 4) if n >= 20 else 0
        return self._frame(buf, n, linktype, <uint32_t>ifindex, now, wire_len)

    def handle_frame(self, const uint8_t[::1] frame not None, int linktype,
                     uint32_t ifindex, int64_t now_ms, Py_ssize_t wire_len=0):
        """One frame (Probe.handle_frame); `wire_len`: its length on the wire,
        if the capture may have cut it."""
        if not self.started:
            self.start(now_ms)
        self._frame(&frame[0], frame.shape[0], linktype, ifindex, now_ms, wire_len)

    def handle_frames(self, const uint8_t[::1] buffer not None, const int64_t[::1] offsets,
                      const int32_t[::1] lengths, const int32_t[::1] linktypes,
                      const uint32_t[::1] ifindexes, const int64_t[::1] times_ms):
        """A batch of frames that lie in `buffer` (a ring block, a file chunk):
        frame k is buffer[offsets[k]:offsets[k] + lengths[k]]."""
        cdef Py_ssize_t k, n = offsets.shape[0], size = buffer.shape[0]
        if not (lengths.shape[0] == linktypes.shape[0] == ifindexes.shape[0]
                == times_ms.shape[0] == n):
            raise ValueError("handle_frames: arrays of different lengths")
        for k in range(n):
            if offsets[k] < 0 or lengths[k] < 0 or offsets[k] + lengths[k] > size:
                raise ValueError(f"handle_frames: frame {k} lies outside the buffer")
        if n and not self.started:
            self.start(times_ms[0])
        for k in range(n):
            self._frame(&buffer[0] + offsets[k], lengths[k], linktypes[k], ifindexes[k],
                        times_ms[k], 0)

    def handle_packet(self, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      uint8_t proto, uint8_t tos, uint32_t in_ifindex, uint32_t octets,
                      uint8_t tcp_flags, bint truncated, int64_t now_ms):
        """One decoded packet (Probe.handle_packet, key fields spread out)."""
        cdef Facts p
        if octets > GSO_MAX_SIZE:
            raise ValueError("octets is an IP length (at most 8 x 65535, BIG TCP's largest)")
        p.key.src, p.key.dst, p.key.sport, p.key.dport = src, dst, sport, dport
        p.key.proto, p.key.tos, p.key.in_if = proto, tos, in_ifindex
        p.octets, p.flags, p.truncated = octets, tcp_flags, truncated
        if not self.started:
            self.start(now_ms)
        self._packet(&p, now_ms)

    def walk_pcap(self, const uint8_t[::1] buf not None, Py_ssize_t pos, int linktype,
                  int64_t frac_ns, bint big_endian, uint64_t limit, int64_t ifindex):
        """Account every whole classic-pcap record in buf[pos:]; `ifindex` is
        the input ifindex of each, or PER_FRAME. `limit` (PcapHeader.limit) may
        pass 32 bits: a snaplen near 2^32 plus the reader's margin.

        Returns (position after the last whole record, PCAP_MORE) or
        (position of the bad record, PCAP_BAD_LENGTH)."""
        cdef Py_ssize_t n = buf.shape[0]
        cdef const uint8_t *b = &buf[0] if n else NULL
        cdef uint32_t sec, frac, caplen, wire_len
        cdef int64_t now
        while pos + 16 <= n:
            if big_endian:
                sec, frac, caplen = be32(b + pos), be32(b + pos + 4), be32(b + pos + 8)
                wire_len = be32(b + pos + 12)
            else:
                sec, frac, caplen = le32(b + pos), le32(b + pos + 4), le32(b + pos + 8)
                wire_len = le32(b + pos + 12)
            if caplen > limit:
                return pos, PCAP_BAD_LENGTH
            if pos + 16 + caplen > n:
                break
            now = (<int64_t>sec * 1000000000 + <int64_t>frac * frac_ns) // 1000000
            if not self.started:
                self.start(now)
            self._offline_frame(b + pos + 16, caplen, linktype, ifindex, now, wire_len)
            pos += 16 + caplen
        return pos, PCAP_MORE

    def walk_pcapng(self, const uint8_t[::1] buf not None, Py_ssize_t pos, bint big_endian,
                    const int32_t[::1] linktypes not None, const int64_t[::1] ns_per_tick not None,
                    const int64_t[::1] ifindexes not None):
        """Account the enhanced packet blocks from buf[pos:] on, while each is
        whole and plain: its interface known, with a timestamp unit of 10^-k s
        (k <= 9: `ns_per_tick[iface]` = 10^(9-k); 0 for any other unit) and
        its input ifindex resolved (`ifindexes[iface]`: a number, PER_FRAME,
        or UNRESOLVED).

        Returns (position, PCAPNG_MORE, bytes the next block needs), or
        (position, PCAPNG_OTHER, 0) for a block the reference reader must
        take: any other type, a bad length, an unknown interface, an
        unusual unit, an ifindex not resolved yet (it also says the error,
        with the reference's words)."""
        cdef Py_ssize_t n = buf.shape[0], blen, flen
        cdef const uint8_t *b = &buf[0] if n else NULL
        cdef const uint8_t *body
        cdef uint32_t btype, length, iface, caplen, wire_len
        cdef uint64_t ts
        cdef int64_t mult, now
        cdef Py_ssize_t nif = linktypes.shape[0]
        if ns_per_tick.shape[0] != nif or ifindexes.shape[0] != nif:
            raise ValueError("walk_pcapng: one unit and one ifindex per interface")
        while True:
            if pos + 8 > n:
                return pos, PCAPNG_MORE, 8
            btype = be32(b + pos) if big_endian else le32(b + pos)
            length = be32(b + pos + 4) if big_endian else le32(b + pos + 4)
            if btype != 6 or length < 32 or length % 4:
                return pos, PCAPNG_OTHER, 0
            if pos + length > n:
                return pos, PCAPNG_MORE, length
            body = b + pos + 8
            blen = length - 12
            iface = be32(body) if big_endian else le32(body)
            if iface >= nif or ns_per_tick[iface] <= 0 or ifindexes[iface] == IF_UNRESOLVED:
                return pos, PCAPNG_OTHER, 0
            if big_endian:
                ts = (<uint64_t>be32(body + 4) << 32) | be32(body + 8)
                caplen, wire_len = be32(body + 12), be32(body + 16)
            else:
                ts = (<uint64_t>le32(body + 4) << 32) | le32(body + 8)
                caplen, wire_len = le32(body + 12), le32(body + 16)
            mult = ns_per_tick[iface]
            if ts > <uint64_t>(0x7FFFFFFFFFFFFFFF // mult):
                return pos, PCAPNG_OTHER, 0
            now = (<int64_t>ts * mult) // 1000000
            flen = blen - 20  # the reference slices: a caplen past the block is cut
            if caplen < flen:
                flen = caplen
            if not self.started:
                self.start(now)
            self._offline_frame(body + 20, flen, linktypes[iface], ifindexes[iface], now,
                                wire_len)
            pos += length

    def walk_block(self, uint8_t[::1] ring not None, Py_ssize_t base, ifindex_of,
                   int64_t now_ms):
        """Account the ingress frames of the retired TPACKET_V3 block at
        ring[base:] (as live/ring.parse_block reads them: an offloaded VLAN tag
        goes back into the frame, a frame without a link header gets a blank
        Ethernet one; tp_len, the length on the wire, counts it too).
        `ifindex_of(kernel ifindex)` gives the exported index;
        a frame counts at its kernel timestamp, never later than `now_ms`.
        Returns the number of frames that were not ingress."""
        cdef const uint8_t *b = &ring[0] + base
        cdef uint32_t num = rd32(b + 12), k, snaplen, wire_len, status, sec, nsec
        cdef Py_ssize_t pos = rd32(b + 16), size = ring.shape[0] - base
        cdef uint16_t mac, net
        cdef uint8_t pkttype
        cdef int32_t kernel_if
        cdef uint32_t ifindex = 0
        cdef int32_t last_if = -1  # one Python call per run of frames of one interface
        cdef int64_t now
        cdef int skipped = 0
        cdef uint8_t tmp[TMP_FRAME]
        cdef const uint8_t *h
        cdef Py_ssize_t keep
        for k in range(num):
            if pos + 60 > size:
                raise ValueError("walk_block: a frame header lies outside the block")
            h = b + pos
            snaplen, wire_len = rd32(h + 12), rd32(h + 16)
            status, mac, net = rd32(h + 20), rd16(h + 24), rd16(h + 26)
            pkttype = h[58]
            if pkttype > 2:  # not PACKET_HOST, BROADCAST or MULTICAST
                skipped += 1
            else:
                if mac + <Py_ssize_t>snaplen > size - pos:
                    raise ValueError("walk_block: a frame lies outside the block")
                kernel_if = <int32_t>rd32(h + 52)
                if kernel_if != last_if:
                    ifindex = ifindex_of(kernel_if)
                    last_if = kernel_if
                sec, nsec = rd32(h + 4), rd32(h + 8)
                now = (<int64_t>sec * 1000000000 + nsec) // 1000000
                if now > now_ms:
                    now = now_ms
                if not self.started:
                    self.start(now)
                if mac == net:  # no link header: a blank one with sll_protocol
                    keep = min(<Py_ssize_t>snaplen, TMP_FRAME - 14)
                    memset(tmp, 0, 12)
                    memcpy(tmp + 12, h + 50, 2)
                    memcpy(tmp + 14, h + mac, keep)
                    self._frame(tmp, snaplen + 14, 1, ifindex, now, <Py_ssize_t>wire_len + 14)
                elif status & 0x10 and snaplen >= 12:  # TP_STATUS_VLAN_VALID
                    keep = min(<Py_ssize_t>snaplen, TMP_FRAME - 4) - 12
                    memcpy(tmp, h + mac, 12)
                    put16(tmp + 12, rd16(h + 36) if status & 0x40 else VLAN_8021Q)
                    put16(tmp + 14, rd32(h + 32))
                    memcpy(tmp + 16, h + mac + 12, keep)
                    self._frame(tmp, snaplen + 4, 1, ifindex, now, <Py_ssize_t>wire_len + 4)
                else:
                    self._frame(h + mac, snaplen, 1, ifindex, now, wire_len)
            pos += rd32(h)
        return skipped

    def handle_timer(self, int64_t now_ms):
        self._timer(now_ms)

    def flush_all(self, int64_t now_ms, int reason, int64_t most=-1):
        """Expire every flow (oldest first; the `most` oldest, if not -1) for
        `reason` (an Expiry), and emit the partial datagram once none is left.
        Returns the flows left."""
        if not 0 <= reason < N_EXPIRY:
            raise ValueError(f"no expiry reason {reason}")
        cdef int code = reason
        if now_ms > self.now:
            self.now = now_ms
        while self.age.head != NONE and most != 0:
            self._expire(self.age.head, code, self.now)
            most -= 1
        self.active_flows = self.count
        if not self.count:
            self._emit(self.now)
        return self.count

    # -- what the driver reads ---------------------------------------------------

    def __len__(self):
        return self.count

    def skipped_counts(self):
        """{Skip code: frames} (not zero)."""
        return {i: self.skipped_n[i] for i in range(1, N_SKIP) if self.skipped_n[i]}

    def exported_counts(self):
        """{Expiry code: flows} (not zero)."""
        return {i: self.exported_n[i] for i in range(N_EXPIRY) if self.exported_n[i]}

    def flow_rows(self, Py_ssize_t limit=-1):
        """Live flows, least recently used first (the first `limit`): (src, dst,
        sport, dport, proto, tos, in_ifindex, packets, octets, first, last,
        tcp_flags, out_ifindex, next_hop, src_mask, dst_mask)."""
        rows = []
        cdef int32_t i = self.lru.head
        cdef Flow *f
        while i != NONE and limit != 0:
            limit -= 1
            f = &self.flows[i]
            rows.append((f.key.src, f.key.dst, f.key.sport, f.key.dport, f.key.proto, f.key.tos,
                         f.key.in_if, f.packets, f.octets, f.first, f.last, f.tcp_flags,
                         f.out_if, f.next_hop, f.src_mask, f.dst_mask))
            i = f.lru.next
        return rows

    def table_bytes(self):
        """Bytes the table holds now (entries, creation links, hash slots)."""
        return (self.capacity * (sizeof(Flow) + sizeof(Link))
                + (<uint64_t>self.slot_mask + 1) * sizeof(Slot))

    def check(self):
        """Internal consistency (tests): hash, both lists and the count agree."""
        cdef Flow *f
        cdef uint32_t where, j
        cdef int32_t i = self.lru.head, n = 0, prev = NONE
        while i != NONE:
            f = &self.flows[i]
            assert f.lru.prev == prev, "lru back link"
            assert self._find(&f.key, self._hash(&f.key), &where) == i, "hash finds the entry"
            prev, i, n = i, f.lru.next, n + 1
        assert prev == self.lru.tail and n == self.count, "lru list holds every flow"
        i, n, prev = self.age.head, 0, NONE
        while i != NONE:
            assert self.links[i].prev == prev, "age back link"
            prev, i, n = i, self.links[i].next, n + 1
        assert prev == self.age.tail and n == self.count, "age list holds every flow"
        n = 0
        for j in range(self.slot_mask + 1):
            if self.slots[j].ref:
                n += 1
        assert n == self.count, "hash holds every flow once"
        return True
