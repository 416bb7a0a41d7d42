"""Fuzzing campaigns: `python tests/fuzz/campaign.py TARGET [--runs N] [--seed S] [--corpus DIR]`.

Engines: atheris (coverage-guided libFuzzer; the default when it imports):
seeded by -seed, resumable because libFuzzer keeps every input that found new
code in the corpus directory and starts from it again; crashes are written
there as crash-*. `--engine mutate` (tests/fuzz/mutate.py): no coverage,
input i of seed s always the same; resumable from the count kept in the
corpus directory. Either way: exit 0 after N inputs without a crash or a
broken property, 1 otherwise (the input is kept). The mutate engine ends with
`fuzz TARGET: N inputs, S s, R/s, engine mutate, seed S, 0 failures`;
atheris with libFuzzer's `Done N runs in S second(s)` and its final stats.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # targets; the checkout's probe and testbed
NAMES = ("decode", "pcap", "collector", "v9", "ipfix", "yaml")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tests/fuzz/campaign.py", description=__doc__.splitlines()[0])
    p.add_argument("target", choices=NAMES)
    p.add_argument("--runs", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--corpus", type=Path, help="kept between runs (default .fuzz/TARGET)")
    p.add_argument("--engine", choices=("atheris", "mutate"))
    args = p.parse_args(argv)
    corpus = args.corpus or Path(".fuzz") / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    engine = args.engine or ("atheris" if _has_atheris() else "mutate")
    start = time.monotonic()
    ran, failures = (_atheris if engine == "atheris" else _mutate)(args, corpus)
    took = time.monotonic() - start
    print(f"fuzz {args.target}: {ran} inputs, {took:.0f} s, {ran / took:.0f}/s, engine {engine}, "
          f"seed {args.seed}, {failures} failures", flush=True)
    return 1 if failures else 0


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _mutate(args, corpus: Path) -> tuple[int, int]:
    from mutate import mutant
    from targets import TARGETS

    target = TARGETS[args.target]
    seeds = target.seeds()
    progress = corpus / f"mutate-seed{args.seed}.json"
    done = json.loads(progress.read_text())["next"] if progress.exists() else 0
    first = done
    try:
        while done < first + args.runs:
            data = mutant(seeds, args.seed, done, target.max_len)
            try:
                target.check(data)
            except Exception:  # noqa: BLE001 - a crash or a broken property: keep the input
                name = corpus / f"crash-{hashlib.sha1(data).hexdigest()}"
                name.write_bytes(data)
                traceback.print_exc()
                print(f"fuzz {args.target}: input {done} of seed {args.seed} failed, kept in {name}")
                return done - first + 1, 1
            done += 1
            if done % 10_000 == 0:
                progress.write_text(json.dumps({"next": done}))
    finally:
        progress.write_text(json.dumps({"next": done}))
    return done - first, 0


def _atheris(args, corpus: Path) -> tuple[int, int]:
    import atheris

    import scapy.all, yaml  # noqa: F401,E401 - used, not under test: not instrumented (10x slower)
    with atheris.instrument_imports(include=["probe", "testbed"]):  # coverage of the code under test
        from targets import TARGETS
    target = TARGETS[args.target]
    if not any(corpus.iterdir()):
        for seed in target.seeds():
            (corpus / f"seed-{hashlib.sha1(seed).hexdigest()}").write_bytes(seed)
    count = [0]

    def one(data: bytes) -> None:
        count[0] += 1
        target.check(data)

    atheris.Setup([sys.argv[0], f"-runs={args.runs}", f"-seed={args.seed}", f"-max_len={target.max_len}",
                   f"-artifact_prefix={corpus}/", "-print_final_stats=1", str(corpus)], one)
    try:
        atheris.Fuzz()  # exits the process: at the end (0) or at the first failure (non-zero)
    except SystemExit as exc:
        return count[0], 1 if exc.code else 0
    return count[0], 0


if __name__ == "__main__":
    sys.exit(main())
