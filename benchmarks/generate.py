"""Write Last.fm-sized synthetic logs for the scale benchmarks (issue 8).

Two shapes, both through ``tastemap.simulate`` (the same code as the workflow's ``simulate``
rule, only bigger):

* ``360k``: Last.fm-360K layout (user SHA-1, artist MBID, artist, plays), ~17.5M rows,
  ~358K users, ~292K artists, heavy-tailed plays;
* ``1k``: Last.fm-1K layout (one scrobble per line), ~19M scrobbles, ~1K users, ~1M tracks.

Usage::

    python benchmarks/generate.py 360k /tmp/bench/usersha1-artmbid-artname-plays.tsv
    python benchmarks/generate.py 1k /tmp/bench/userid-timestamp-artid-artname-traid-traname.tsv \\
        --truth /tmp/bench/truth.parquet --seed 1

Prints the sizes, the wall time and the peak RSS of the process. ``--set key=value`` overrides
any ``simulate`` knob (e.g. ``--set n_users=100000`` for a smaller trial run).
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from pathlib import Path

from tastemap.simulate import SimulationSpec, simulate_to_files

#: Knobs of each shape, chosen so the sizes match the real files (measured, see docs/benchmarks.md).
SHAPES: dict[str, dict] = {
    # Last.fm-360K: 17,559,530 rows, 359,347 users, ~292K artist names, ~49 artists per user
    # (each user's top artists), median plays per row ~ 100.
    "360k": dict(layout="lastfm-360k", n_users=358_000, n_artists=292_000, n_genres=20,
                 artists_per_user=45.0, plays_per_user=6000.0, plays_sigma=1.0,
                 user_artist_zipf=0.7, artist_zipf=0.9),
    # Last.fm-1K: 19,150,868 scrobbles, 992 users, ~177K artists, ~1M distinct tracks.
    "1k": dict(layout="lastfm-1k", n_users=992, n_artists=200_000, n_genres=20,
               artists_per_user=900.0, plays_per_user=11800.0, plays_sigma=1.0,
               user_artist_zipf=0.7, artist_zipf=0.9, tracks_per_artist=6.5, track_zipf=0.8),
}


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=sorted(SHAPES), help="which real dataset to imitate")
    parser.add_argument("out", type=Path, help="TSV file to write")
    parser.add_argument("--truth", type=Path, default=None,
                        help="truth.parquet to write (default: next to OUT as <OUT>.truth.parquet)")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one simulate knob, e.g. n_users=100000 (repeatable)")
    args = parser.parse_args(argv)

    params = dict(SHAPES[args.shape], seed=args.seed)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        params[key] = _value(value)
    try:
        spec = SimulationSpec.from_params(params)
    except ValueError as err:
        parser.error(str(err))
    truth = args.truth or args.out.with_name(args.out.name + ".truth.parquet")
    args.out.parent.mkdir(parents=True, exist_ok=True)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    start = time.perf_counter()
    stats = simulate_to_files(args.out, truth, spec)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    stats.update(shape=args.shape, seconds=round(seconds, 1), peak_rss_mib=round(peak_mib),
                 file_mib=round(args.out.stat().st_size / 2**20))
    print(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
