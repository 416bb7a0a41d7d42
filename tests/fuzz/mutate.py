"""A seeded mutation fuzzer: input number i of seed s is always the same bytes.

No coverage feedback (atheris brings that, in ci/fuzz); what this gives is
reproducible, resumable streams of damaged inputs for the suite's smoke run
and for machines without atheris: each input is one seed (or two spliced)
with 1-8 edits of the kinds that break parsers (bit flips, boundary values
in 1, 2 and 4-byte fields, cuts, inserts, repeats).
"""
from __future__ import annotations

import random
import struct

INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFF)
INTERESTING_16 = (0, 1, 20, 0x7FFF, 0x8000, 0xFFFF)
INTERESTING_32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutant(seeds: list[bytes], seed: int, i: int, max_len: int) -> bytes:
    rng = random.Random(seed * 1_000_003 + i)
    buf = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a bit
            p = rng.randrange(len(buf))
            buf[p] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING_8)
        elif op == 2 and len(buf) >= 2:
            p = rng.randrange(len(buf) - 1)
            buf[p:p + 2] = struct.pack(rng.choice("<>") + "H", rng.choice(INTERESTING_16))
        elif op == 3 and len(buf) >= 4:
            p = rng.randrange(len(buf) - 3)
            buf[p:p + 4] = struct.pack(rng.choice("<>") + "I", rng.choice(INTERESTING_32))
        elif op == 4:  # cut
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 5:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 6 and buf:  # repeat a piece
            p = rng.randrange(len(buf))
            buf[pos:pos] = buf[p:p + rng.randint(1, 64)]
        else:  # splice in a piece of another seed
            other = rng.choice(seeds)
            p = rng.randrange(len(other) + 1)
            buf[pos:] = other[p:]
    return bytes(buf[:max_len])
