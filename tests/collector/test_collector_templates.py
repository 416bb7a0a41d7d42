"""v9 and IPFIX in the referee: templates, options, withdrawals, redefinitions,
variable-length and enterprise fields, padding, scoping, held data sets, caps.

Datagrams are built with struct (nf9_build.py) from the RFCs' formats."""
from __future__ import annotations

import tracemalloc

import pytest
from nf9_build import (VARIABLE, data, ipfix, ipfix_options_template, ipfix_templates, ipfix_withdraw, record, v9,
                       v9_options_template, v9_templates)

from testbed.collector import Collector
from testbed.collector.templated import Caps

T0 = 1_790_000_000  # export seconds
RECV = T0 * 1000 + 300
A = ("10.0.9.1", 40000)

# a v9 template as routers send it: sysUpTime-relative times, 32-bit counters
V9_FLOW = [(8, 4), (12, 4), (15, 4), (10, 2), (14, 2), (2, 4), (1, 4), (22, 4), (21, 4), (7, 2), (11, 2),
           (6, 1), (4, 1), (5, 1), (16, 2), (17, 2), (9, 1), (13, 1)]
FLOW = {8: "10.0.1.10", 12: "10.0.2.10", 15: "10.0.12.2", 10: 2, 14: 3, 2: 20, 1: 4000, 22: 90_000, 21: 99_000,
        7: 40000, 11: 5000, 6: 0, 4: 17, 5: 0x10, 16: 64512, 17: 65001, 9: 24, 13: 16}
# IPFIX as softflowd and pmacct send it: absolute milliseconds, 64-bit counters, IPv6
IPFIX_V6 = [(27, 16), (28, 16), (152, 8), (153, 8), (1, 8), (2, 8), (10, 4), (14, 4), (7, 2), (11, 2), (4, 1),
            (6, 1), (5, 1), (61, 1), (136, 1)]
V6 = {27: "2001:db8::1", 28: "2001:db8:1::2", 152: T0 * 1000 - 5000, 153: T0 * 1000 - 200, 1: 2**40, 2: 2**33,
      10: 70000, 14: 4, 7: 443, 11: 51000, 4: 6, 6: 0x1B, 5: 0, 61: 1, 136: 3}


def one(c: Collector, dgram: bytes, source=A, recv=RECV):
    got = c.receive(dgram, source, recv)
    assert got.malformed is None, got.malformed
    return got


def test_a_v9_template_and_its_data_read_as_v5_would():
    c = Collector()
    got = one(c, v9([v9_templates((256, V9_FLOW)), data(256, [record(V9_FLOW, FLOW)])], uptime=100_000,
                    unix_secs=T0, count=2))
    (r,) = got.records
    assert (r.src, r.dst, r.next_hop, r.input, r.output, r.packets, r.octets) == (
        "10.0.1.10", "10.0.2.10", "10.0.12.2", 2, 3, 20, 4000)
    assert (r.sport, r.dport, r.tcp_flags, r.proto, r.tos, r.src_as, r.dst_as, r.src_mask, r.dst_mask) == (
        40000, 5000, 0, 17, 0x10, 64512, 65001, 24, 16)
    assert (r.first, r.last) == (90_000, 99_000)
    assert (r.start_ms, r.end_ms) == (T0 * 1000 - 10_000, T0 * 1000 - 1_000)
    assert r.extra == {} and r.findings == () and r.header.version == 9 and r.datagram == 1
    d = got.datagram
    assert (d.header.count, d.header.sys_uptime, d.contents) == (2, 100_000, (1, 0, 1, 0))
    (t,) = got.templates
    assert (t.template_id, t.action, t.fields[0]) == (256, "define", (0, 8, 4))
    assert d.findings == ()


def test_an_ipfix_record_keeps_what_v5_has_no_field_for_in_extra():
    c = Collector()
    got = one(c, ipfix([ipfix_templates((300, IPFIX_V6)), data(300, [record(IPFIX_V6, V6)])], export_s=T0))
    (r,) = got.records
    assert (r.src, r.dst, r.next_hop) == ("2001:db8::1", "2001:db8:1::2", "::")
    assert (r.packets, r.octets, r.input, r.output, r.sport, r.dport, r.proto, r.tcp_flags) == (
        2**33, 2**40, 70000, 4, 443, 51000, 6, 0x1B)
    assert (r.start_ms, r.end_ms) == (T0 * 1000 - 5000, T0 * 1000 - 200)
    assert r.extra == {"flowDirection": 1, "flowEndReason": 3}
    assert got.datagram.header.count == 1 and got.datagram.header.flow_sequence == 0


@pytest.mark.parametrize("fields, values, want", [
    ([(150, 4), (151, 4)], {150: T0 - 9, 151: T0 - 2}, (T0 * 1000 - 9000, T0 * 1000 - 2000)),
    ([(154, 8), (155, 8)], {154: (T0 - 9 + 2_208_988_800) << 32 | 1 << 31, 155: (T0 + 2_208_988_800) << 32},
     (T0 * 1000 - 8500, T0 * 1000)),
    ([(156, 8), (157, 8)], {156: (T0 - 1 + 2_208_988_800) << 32, 157: (T0 + 2_208_988_800) << 32 | 1 << 30},
     (T0 * 1000 - 1000, T0 * 1000 + 250)),
    ([(158, 4), (159, 4)], {158: 3_000_000, 159: 500_000}, (T0 * 1000 - 3000, T0 * 1000 - 500)),
    ([(152, 8), (161, 4)], {152: T0 * 1000 - 700, 161: 650}, (T0 * 1000 - 700, T0 * 1000 - 50)),
    ([(153, 8), (162, 4)], {153: T0 * 1000 - 100, 162: 2_000_000}, (T0 * 1000 - 2100, T0 * 1000 - 100)),
    ([(160, 8), (22, 4), (21, 4)], {160: T0 * 1000 - 60_000, 22: 1000, 21: 59_000},
     (T0 * 1000 - 59_000, T0 * 1000 - 1000)),
    ([], {}, (T0 * 1000, T0 * 1000)),  # no times: the export time
])
def test_ipfix_times_in_every_form(fields, values, want):
    tmpl = [(8, 4), (12, 4), (2, 4), (1, 4), (4, 1)] + fields
    vals = {8: "10.0.0.1", 12: "10.0.0.2", 2: 1, 1: 100, 4: 17, **values}
    got = one(Collector(), ipfix([ipfix_templates((256, tmpl)), data(256, [record(tmpl, vals)])], export_s=T0))
    (r,) = got.records
    assert (r.start_ms, r.end_ms) == want


def test_ipfix_uptime_times_use_the_boot_time_from_an_options_record():
    """softflowd: an options template scoped by meteringProcessId carries systemInitTimeMilliseconds."""
    boot = T0 * 1000 - 3_600_000
    opts = [(143, 4)], [(160, 8), (305, 4)]
    tmpl = [(8, 4), (12, 4), (22, 4), (21, 4), (2, 4), (1, 4), (4, 1)]
    c = Collector()
    got = one(c, ipfix([ipfix_options_template(400, *opts), data(400, [record(opts[0] + opts[1],
                                                                               {143: 7, 160: boot, 305: 1})]),
                        ipfix_templates((256, tmpl)),
                        data(256, [record(tmpl, {8: "1.1.1.1", 12: "2.2.2.2", 22: 3_000_000, 21: 3_590_000, 2: 3,
                                                 1: 300, 4: 17})])], export_s=T0))
    (o,) = got.options
    assert (o.template_id, o.scope, o.values) == (400, {"meteringProcessId": 7},
                                                  {"systemInitTimeMilliseconds": boot, "samplingPacketInterval": 1})
    (r,) = got.records
    assert (r.first, r.last, r.start_ms, r.end_ms) == (3_000_000, 3_590_000, boot + 3_000_000, boot + 3_590_000)
    assert got.datagram.contents == (1, 1, 2, 0)
    # without it the times are unknown, and said so
    got = one(Collector(), ipfix([ipfix_templates((256, tmpl)), data(256, [record(tmpl, {2: 1, 1: 50})])]))
    assert [f.code for f in got.records[0].findings] == ["uptime-origin-unknown"]


def test_v9_options_records_have_their_own_scope_types():
    c = Collector()
    scope, fields = [(2, 4)], [(34, 4), (35, 1)]  # interface scope: sampling interval, algorithm
    got = one(c, v9([v9_options_template(257, scope, fields),
                     data(257, [record(scope + fields, {2: 3, 34: 100, 35: 1})])], count=2))
    (o,) = got.options
    assert (o.scope, o.values) == ({"scopeInterface": 3}, {"samplingInterval": 100, "samplingAlgorithm": 1})
    assert got.records == () and c.summary().options == 1


def test_icmp_type_and_code_go_into_the_destination_port():
    tmpl = [(8, 4), (12, 4), (2, 4), (1, 4), (4, 1), (32, 2)]
    got = one(Collector(), ipfix([ipfix_templates((256, tmpl)),
                                  data(256, [record(tmpl, {8: "1.1.1.1", 12: "2.2.2.2", 2: 3, 1: 252, 4: 1,
                                                           32: 8 << 8})])]))
    (r,) = got.records
    assert (r.sport, r.dport, r.findings, r.extra) == (0, 2048, (), {})


def test_variable_length_and_enterprise_fields():
    tmpl = [(8, 4), (82, VARIABLE), (2, 4), (1, 4), (4, 1), (12, 4, 9), (1, 8, 29305), (96, VARIABLE)]
    long_name = b"x" * 300  # the 3-octet length form
    vals = {8: "10.1.1.1", 82: b"eth0", 2: 5, 1: 500, 4: 17, (9, 12): b"\x01\x02\x03\x04", (29305, 1): 9000,
            96: long_name}
    got = one(Collector(), ipfix([ipfix_templates((256, tmpl)), data(256, [record(tmpl, vals)] * 2)]))
    assert len(got.records) == 2
    r = got.records[0]
    assert (r.src, r.packets, r.octets) == ("10.1.1.1", 5, 500)
    assert r.extra == {"interfaceName": "eth0", "9.12": b"\x01\x02\x03\x04", "reverseOctetDeltaCount": 9000,
                       "applicationName": "x" * 300}


def test_a_field_in_a_length_its_type_does_not_allow_is_kept_as_bytes_and_said():
    tmpl = [(8, 5), (2, 4), (1, 3)]  # an IPv4 address in 5 octets; a 3-octet counter is fine (RFC 7011 6.2)
    got = one(Collector(), ipfix([ipfix_templates((256, tmpl)), data(256, [record(tmpl, {8: b"\1\2\3\4\5", 2: 1,
                                                                                              1: 70000})])]))
    (r,) = got.records
    assert (r.src, r.octets, r.extra) == ("0.0.0.0", 70000, {"sourceIPv4Address": b"\1\2\3\4\5"})
    assert [f.code for f in got.datagram.findings] == ["field-length"]


def test_set_padding_is_skipped_and_must_be_zero():
    tmpl = [(8, 4), (2, 4), (1, 4), (4, 1)]  # 13 octets a record
    rec = record(tmpl, {8: "1.2.3.4", 2: 1, 1: 40, 4: 17})
    c = Collector()
    got = one(c, ipfix([ipfix_templates((256, tmpl), pad=3), data(256, [rec, rec], pad=6)]))
    assert len(got.records) == 2 and got.datagram.findings == ()
    bad = ipfix([data(256, [rec])[:-3] + b"\0\1\0"], seq=2)
    bad = bad[:2] + len(bad).to_bytes(2, "big") + bad[4:]
    got = one(c, bad)
    assert len(got.records) == 1 and [f.code for f in got.datagram.findings] == ["nonzero-padding"]


def test_ipfix_withdrawal_of_one_template_and_of_all():
    t = [(8, 4), (2, 4), (1, 4)]
    rec = record(t, {8: "1.2.3.4", 2: 1, 1: 40})
    c = Collector()
    one(c, ipfix([ipfix_templates((256, t), (257, t)), ipfix_options_template(258, [(149, 4)], [(41, 8)])]))
    got = one(c, ipfix([ipfix_withdraw(256), data(256, [rec]), data(257, [rec])], seq=0))
    assert len(got.records) == 1 and got.datagram.contents.held == 1
    assert [t.action for t in got.templates] == ["withdraw"]
    assert [f.code for f in got.datagram.findings] == ["template-withdrawal-over-udp"]
    got = one(c, ipfix([ipfix_withdraw(2), data(257, [rec]), data(258, [record([(149, 4), (41, 8)], {})])], seq=1))
    assert got.records == () and len(got.options) == 1  # all templates went, the options template stayed
    got = one(c, ipfix([ipfix_withdraw(3, set_id=3), data(258, [record([(149, 4), (41, 8)], {})])], seq=1))
    assert got.options == () and got.datagram.contents.held == 1
    assert c.summary().templates["withdrawn"] == 3  # 256; then 257 (all templates); then 258


def test_a_template_id_redefined_with_another_layout_reads_with_the_new_one():
    t1, t2 = [(8, 4), (2, 4), (1, 4)], [(2, 8), (1, 8), (8, 4)]
    c = Collector()
    one(c, ipfix([ipfix_templates((256, t1)), data(256, [record(t1, {8: "1.1.1.1", 2: 1, 1: 40})])]))
    got = one(c, ipfix([ipfix_templates((256, t2)), data(256, [record(t2, {8: "2.2.2.2", 2: 2, 1: 80})])], seq=1))
    (r,) = got.records
    assert (r.src, r.packets, r.octets) == ("2.2.2.2", 2, 80)
    assert c.summary().templates == {"defined": 1, "redefined": 1}


def test_templates_are_scoped_by_exporter_port_and_domain():
    t1, t2 = [(8, 4), (2, 4), (1, 4)], [(2, 4), (1, 4), (8, 4)]
    c = Collector()
    for source, domain, t in ((A, 0, t1), (A, 1, t2), (("10.0.9.1", 40001), 0, t2), (("10.0.9.2", 40000), 0, t2)):
        one(c, ipfix([ipfix_templates((256, t))], domain=domain), source)
    for source, domain, t in ((A, 0, t1), (A, 1, t2), (("10.0.9.1", 40001), 0, t2), (("10.0.9.2", 40000), 0, t2)):
        got = one(c, ipfix([data(256, [record(t, {8: "9.9.9.9", 2: 7, 1: 700})])], domain=domain), source)
        assert [(r.src, r.packets, r.octets, r.exporter) for r in got.records] == [
            ("9.9.9.9", 7, 700, source[0])]
    assert len(c.summary().sequence) == 4


def test_v9_templates_too_and_its_source_ids_are_streams_of_their_own():
    t = [(8, 4), (2, 4), (1, 4)]
    c = Collector()
    for sid in (1, 2):
        one(c, v9([v9_templates((256, t[:2] if sid == 1 else t))], source_id=sid, seq=0, count=1))
    got = one(c, v9([data(256, [record(t, {8: "1.1.1.1", 2: 1, 1: 40})])], source_id=2, seq=1, count=1))
    assert (got.records[0].octets, got.datagram.seq_status) == (40, "in-order")
    assert [(s.version, s.domain, s.datagrams, s.unit) for s in c.summary().sequence] == [
        (9, 1, 1, "datagrams"), (9, 2, 2, "datagrams")]


def test_data_before_its_template_is_held_then_decoded():
    t = [(8, 4), (2, 4), (1, 4), (4, 1)]
    c = Collector()
    got = one(c, ipfix([data(256, [record(t, {8: "1.1.1.1", 2: 1, 1: 40, 4: 17})])], seq=0), recv=RECV)
    assert got.records == () and got.datagram.contents.held == 1
    got = one(c, ipfix([ipfix_templates((256, t))], seq=1), recv=RECV + 500)
    (r,) = got.records
    assert (r.src, r.datagram, r.recv_ms) == ("1.1.1.1", 1, RECV)  # its own datagram's
    assert [f.code for f in r.findings] == ["data-before-template"] and "500 ms" in r.findings[0].detail
    assert c.summary().templates["held"] == 1 and c.summary().templates["released"] == 1
    assert c.summary().undecoded == {}


def test_held_sets_are_bounded_in_time_count_and_bytes_then_counted_no_template():
    rec = b"\0" * 100
    c = Collector(caps=Caps(held_sets=3, held_bytes=1000, hold_ms=10_000))
    for i in range(3):
        one(c, ipfix([data(256 + i, [rec])], seq=0), recv=RECV + i)
    got = one(c, ipfix([data(300, [rec])], seq=0), recv=RECV + 3)  # a fourth: the oldest goes
    assert [(u.template_id, u.reason, u.datagram) for u in got.undecoded] == [(256, "no_template", 1)]
    assert "full" in got.undecoded[0].detail
    one(c, ipfix([data(301, [b"\0" * 900])]), recv=RECV + 4)  # over 1000 octets: the oldest go
    got = c.receive(ipfix([]), A, RECV + 20_000)  # time passes: the rest expire
    assert sorted(u.template_id for u in got.undecoded) == [300, 301]
    assert "within 10 s" in got.undecoded[0].detail
    one(c, ipfix([data(302, [rec])]), recv=RECV + 20_001)
    (u,) = c.finish(RECV + 20_002)
    assert (u.template_id, u.reason, u.length) == (302, "no_template", 100)
    assert c.summary().undecoded == {"no_template": 6}
    assert len(c.result().undecoded) == 6


def test_a_template_flood_is_bounded_and_counted():
    c = Collector(keep=False, caps=Caps(max_templates=100, max_template_fields=2000))
    fields = [(i % 300 + 1, 4) for i in range(30)]
    tracemalloc.start()
    for n in range(20):
        c.receive(ipfix([ipfix_templates(*((256 + (n * 40 + i) % 60000, fields) for i in range(40)))], seq=0),
                  A, RECV + n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    store = c._templated.store
    assert len(store) <= 100 and store.fields <= 2000
    assert c.summary().templates["evicted"] == 800 - len(store)
    assert peak < 8 << 20


@pytest.mark.parametrize("dgram, reason", [
    (b"\0\x0a\0\x10", "too-short"),
    (ipfix([data(256, [b"\0" * 8])])[:-1], "length-mismatch"),
    (ipfix([b"\0\x02\0\x03"]), "bad-set-length"),
    (ipfix([b"\x01\x00\0\x40" + b"\0" * 8]), "bad-set-length"),
    (ipfix([b"\0\x02\0\x18\x01\x00\0\x05" + b"\0\x08\0\x04" * 4]), "bad-template"),  # 5 fields, 4 there
    (ipfix([ipfix_templates((255, [(8, 4)]))]), "bad-template"),
    (ipfix([ipfix_options_template(256, [], [(8, 4)])]), "bad-template"),
    (ipfix([ipfix_templates((256, [(8, 0)]))]), "bad-template"),
    (ipfix([ipfix_templates((256, [(82, VARIABLE)])), data(256, [b"\x09abc"])]), "bad-data-set"),
    (v9([b"\0\0\0\x08\x01\x00\0\x05"]), "bad-template"),
    (v9([b"\0\0\0\x03"]), "bad-set-length"),
    (b"\0\x09" + b"\0" * 10, "too-short"),
])
def test_malformed_v9_and_ipfix_are_counted_by_reason_and_leave_no_trace(dgram, reason):
    c = Collector()
    got = c.receive(dgram, A, RECV)
    assert got.malformed is not None and got.malformed.reason == reason, got.malformed
    assert c.summary().malformed == {reason: 1} and len(c._templated.store) == 0


def test_reserved_set_ids_are_skipped_and_said():
    got = one(Collector(), ipfix([data(17, [b"\0" * 4])]))
    assert [f.code for f in got.datagram.findings] == ["reserved-set-id"]


def test_v9_count_that_is_not_every_record_is_a_finding():
    t = [(8, 4), (2, 4), (1, 4)]
    recs = [record(t, {8: "1.1.1.1", 2: 1, 1: 40})] * 3
    good = one(Collector(), v9([v9_templates((256, t)), data(256, recs)], count=4))
    assert good.datagram.findings == ()
    bad = one(Collector(), v9([v9_templates((256, t)), data(256, recs)], count=3))  # the flows only
    assert [f.code for f in bad.datagram.findings] == ["count-mismatch"]


def test_templates_of_one_layout_share_their_compiled_plan_but_keep_their_ids():
    opts = ([(149, 4)], [(41, 8)])
    c = Collector()
    got = one(c, ipfix([ipfix_options_template(300, *opts), ipfix_options_template(301, *opts),
                        data(300, [record(opts[0] + opts[1], {149: 1, 41: 5})]),
                        data(301, [record(opts[0] + opts[1], {149: 2, 41: 6})])]))
    assert [(o.template_id, o.scope["observationDomainId"]) for o in got.options] == [(300, 1), (301, 2)]
    store = c._templated.store
    scope = store._t and next(iter(store._t))[0]
    assert store.get(scope, 300).plan is store.get(scope, 301).plan


def test_reduced_size_uptimes_and_icmp_elements_read_as_numbers():
    """Found by fuzzing: 3-octet flowStart/EndSysUpTime (reduced-size unsigned32) were
    used as octets."""
    t = [(8, 4), (2, 4), (1, 4), (4, 1), (22, 3), (21, 3), (176, 1), (177, 1)]
    got = one(Collector(), v9([v9_templates((256, t)), data(256, [record(t, {8: "1.1.1.1", 2: 2, 1: 168, 4: 1,
                                                                              22: 90_000, 21: 99_000, 176: 3,
                                                                              177: 1})])],
                              uptime=100_000, unix_secs=T0, count=2))
    (r,) = got.records
    assert (r.first, r.last, r.start_ms, r.end_ms, r.dport) == (90_000, 99_000, T0 * 1000 - 10_000,
                                                                 T0 * 1000 - 1_000, 3 * 256 + 1)
