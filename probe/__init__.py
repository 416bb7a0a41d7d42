"""A NetFlow v5 probe with FreeBSD ng_netflow's semantics.

The path of a packet, module by module:
capture (live/) or pcapfile -> decode -> cache (+ routes) -> export -> v5 bytes.
Everything except live/ and the drivers is pure logic with time passed in.
"""
