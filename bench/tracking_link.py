"""Benchmark: the live tracking links' per-request pure work (backend/planning/tracking_link.py).

    python -m bench.tracking_link [--number 200000]

Times, per call: deriving the links' key from SECRET_KEY (memoised: once per secret), verifying a good token,
refusing a forged one (what a guesser costs the service: no database query is made for it) and snapping a
position to the ~100 m grid. Prints microseconds per call; the figures depend on the machine and on whatever
else runs on it.
"""

import argparse
import timeit

from backend.planning import tracking_link as tl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    secret = "bench-secret-" + "x" * 32
    key = tl.link_key(secret)
    good = tl.sign(key, tl.new_link_id())
    forged = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    cases = {
        "link_key (derivation)": lambda: tl.link_key.__wrapped__(secret),
        "link_key (memoised)": lambda: tl.link_key(secret),
        "verify(good token)": lambda: tl.verify(key, good),
        "verify(forged token)": lambda: tl.verify(key, forged),
        "verify(malformed)": lambda: tl.verify(key, "not-a-token"),
        "snap(lat, lon)": lambda: tl.snap(10.46021, 105.63293),
    }
    print(f"tracking links: {args.number} calls each")
    for name, fn in cases.items():
        best = min(timeit.repeat(fn, number=args.number, repeat=3))
        print(f"  {name:<22} {best / args.number * 1e6:7.2f} µs/call")


if __name__ == "__main__":
    main()
