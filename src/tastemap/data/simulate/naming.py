"""Readable, unique names for the simulated catalogue (artists, tracks) and random hex ids
(MusicBrainz-like UUIDs, Last.fm-360K-like SHA-1 user ids)."""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ADJ = ("Velvet Silent Golden Broken Electric Hollow Crimson Midnight Neon Wild Lonely Frozen "
        "Burning Paper Silver Glass Violet Lazy Savage Gentle Northern Southern Distant Hidden "
        "Secret Restless Wandering Sleepy Bitter Sweet Lucky Crooked Rusty Dusty Static Cosmic "
        "Lunar Solar Atomic Magnetic Analog Digital Plastic Wooden Iron Copper Scarlet Amber "
        "Ivory Emerald Azure Pale Dark Bright Quiet Loud Heavy Tender Fading Rising Falling "
        "Drifting Shining Howling Whispering Dancing Sinking Floating Burnt Empty Endless "
        "Faithful Fearless Gilded Humble Jagged Kind Mellow Narrow Odd Proud").split()
_NOUN = ("Owl Fox Wolf Raven Tiger Comet Harbor River Mountain Forest Garden Engine Mirror "
         "Lantern Anchor Arrow Crown Dagger Feather Flame Ghost Hammer Jewel Knight Lion Moth "
         "Needle Ocean Pilot Prophet Rocket Sailor Shadow Signal Spider Storm Thief Thunder "
         "Tower Valley Violin Wave Witch Wizard Cloud Desert Drum Echo Falcon Giant Glacier "
         "Horizon Island Jungle Kite Ladder Machine Meadow Monk Orchard Parade Planet Pyramid "
         "Quarry Radio Reef Saint Siren Stone Sun Tide Train Tunnel Volcano Whale Window "
         "Circus Canyon Beacon Bandit").split()
_FIRST = ("Mara Jonas Lena Oskar Ivy Felix Nora Theo Ada Milo Clara Hugo Iris Leon Alma Otto "
          "Ruby Emil Vera Arlo Greta Silas Elsa Jasper June Anton Hazel Bruno Lila Caspar "
          "Zoë Jürgen Ólafur Søren Renée Łucja Noémie Björn Íris Mateo Amira Kenji Priya "
          "Tomás Ingrid Dario Yara Rafael Sunniva Marek Aiko Levi Nadia Omar Freya Luca Selma "
          "Dante Edith Ciro Maeve Nikolai Odette Paulo Rosa Stellan Talia Umberto Wanda Xavier "
          "Yusuf Zelda Bram Cleo Dmitri Esme Fabian").split()
_LAST = ("Quinn Harlow Varga Lindqvist Moreau Okafor Brennan Castillo Delacroix Eklund Fischer "
         "Gallo Hartmann Ivanova Janssen Kowalski Laine Marchetti Novak Oliveira Petrov "
         "Rasmussen Sato Tanaka Ueda Vance Whitlock Yilmaz Zamora Abbott Bishop Carver Dunn "
         "Ellery Frost Garner Holloway Ingram Jett Kessler Lowell Mercer Nash Orton Pryce "
         "Quill Rowe Sterling Thorne Underwood Voss Wilder Yates Ashby Blackwood Crane Darrow "
         "Everly Fairfax Grove Hale Irving Keane Locke Marlowe Noble Pike Reyes Shaw Tate "
         "Vale Ward Wolfe Young Zeller Bexley Cobb").split()
_VERB = ("Run Dance Fall Breathe Dream Wait Burn Shine Drive Hold Remember Forget Follow "
         "Carry Chase Climb Cross Drift Fade Fight Float Fly Hide Hunt Jump Leave Listen "
         "Lose Meet Move Pray Reach Ride Rise Roam Sail Seek Sing Sleep Stay Swim Talk "
         "Touch Turn Wake Walk Wander Weep Whisper Call").split()
_PLACE = ("Berlin Lisbon Tokyo Memphis Paris Oslo Havana Cairo Dublin Nairobi Lagos Kyoto "
          "Vienna Seville Reno Tulsa Marseille Detroit Bristol Glasgow Athens Naples Prague "
          "Warsaw Kingston Lima Quito Austin Boston Denver the Rain the Dark the Morning "
          "the Dust the Sea the Snow the City the Summer the Valley").split()
_PREP = ("in", "over", "under", "beyond", "from")
_VERSION = ("Live", "Remix", "Acoustic", "Demo", "Radio Edit", "Remastered", "Instrumental")
_NICK = ("Little", "Big", "Lucky", "Doc", "Slim", "Sugar", "Kid", "Red")


def _plural(noun: str) -> str:
    irregular = {"Wolf": "Wolves", "Thief": "Thieves", "Echo": "Echoes", "Volcano": "Volcanoes"}
    if noun in irregular:
        return irregular[noun]
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _decode(index: int, radices: tuple[int, ...]) -> list[int]:
    """Mixed-radix digits of ``index`` (first radix varies slowest)."""
    digits = []
    for r in reversed(radices):
        index, d = divmod(index, r)
        digits.append(d)
    return digits[::-1]


def _pick_unique(rng: np.random.Generator, n: int, patterns: list, probs: list[float]) -> list[str]:
    """``n`` distinct strings: a pattern per name by ``probs``, then distinct word combinations.

    ``patterns`` holds ``(radices, build)`` pairs; ``build(digits) -> str``. The last pattern
    takes the overflow of the others; beyond every pattern's capacity names get a numeral.
    """
    caps = [math.prod(r) for r, _ in patterns]
    counts = rng.multinomial(n, np.asarray(probs) / sum(probs))
    for i in range(len(patterns) - 1):
        over = counts[i] - caps[i]
        if over > 0:
            counts[i] -= over
            counts[-1] += over
    names: list[str] = []
    for (radices, build), cap, count in zip(patterns, caps, counts):
        take = min(count, cap)
        for idx in rng.choice(cap, size=take, replace=False).tolist():
            names.append(build(_decode(idx, radices)))
        for j in range(count - take):  # only when n exceeds every pattern's capacity
            names.append(build(_decode(j % cap, radices)) + f" {j // cap + 2}")
    order = rng.permutation(len(names))
    return [names[i] for i in order]


def make_artist_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` unique readable artist names, a few with quotes, commas or apostrophes.

    About 0.5% of names (at least 3 when ``n >= 10``) get a real-data quirk: a leading quoted
    nickname (``"Slim" Mara Quinn``), commas (``Ivy, Otto & Vera``), or an apostrophe.
    """
    nA, nN, nF, nL = len(_ADJ), len(_NOUN), len(_FIRST), len(_LAST)
    patterns = [
        ((nA, nN), lambda d: f"The {_ADJ[d[0]]} {_plural(_NOUN[d[1]])}"),
        ((nA, nN), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]}"),
        ((nF, nL), lambda d: f"{_FIRST[d[0]]} {_LAST[d[1]]}"),
        ((nN, nN), lambda d: f"{_NOUN[d[0]]} of {_plural(_NOUN[d[1]])}"),
        ((nF, nL, nN), lambda d: f"{_FIRST[d[0]]} {_LAST[d[1]]} & the {_plural(_NOUN[d[2]])}"),
    ]
    names = _pick_unique(rng, n, patterns, [0.25, 0.25, 0.25, 0.1, 0.15])
    n_quirk = max(3, round(0.005 * n)) if n >= 10 else 0
    for k, i in enumerate(rng.choice(n, size=min(n_quirk, n), replace=False).tolist()):
        kind = k % 3
        if kind == 0:
            names[i] = f'"{_NICK[i % len(_NICK)]}" {names[i]}'
        elif kind == 1:
            a, b, c = rng.choice(nF, size=3, replace=False).tolist()
            names[i] = f"{_FIRST[a]}, {_FIRST[b]} & {_FIRST[c]}"
        else:
            names[i] = f"{_LAST[i % nL]}'s {names[i].removeprefix('The ')}"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # quirks may collide with a plain name: number them
        if name in seen:
            seen[name] += 1
            names[i] = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
    assert len(set(names)) == n
    return names


def make_track_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct readable track names (a few quoted or with commas), globally unique."""
    nA, nN, nV, nP = len(_ADJ), len(_NOUN), len(_VERB), len(_PLACE)
    patterns = [
        ((nA, nN), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]}"),
        ((nV, nN), lambda d: f"{_VERB[d[0]]} Like a {_NOUN[d[1]]}"),
        ((nN, len(_PREP), nP), lambda d: f"{_NOUN[d[0]]} {_PREP[d[1]]} {_PLACE[d[2]]}"),
        ((nA, nN, len(_VERSION)), lambda d: f"{_ADJ[d[0]]} {_NOUN[d[1]]} ({_VERSION[d[2]]})"),
        ((nV, nV), lambda d: f"{_VERB[d[0]]}, {_VERB[d[1]]}, {_VERB[d[0]]}"),
        ((nN, nV), lambda d: f'"{_plural(_NOUN[d[0]])}" Don\'t {_VERB[d[1]]}'),
        ((nV, nA, nN, len(_PREP), nP),
         lambda d: f"{_VERB[d[0]]} the {_ADJ[d[1]]} {_NOUN[d[2]]} {_PREP[d[3]]} {_PLACE[d[4]]}"),
    ]
    return _pick_unique(rng, n, patterns, [0.3, 0.15, 0.2, 0.1, 0.01, 0.01, 0.23])


def _hex_ids(rng: np.random.Generator, n: int, uuid: bool) -> pa.Array:
    """``n`` random lowercase hex ids: UUID v4 strings (36 chars) or SHA-1-like (40 chars)."""
    raw = rng.integers(0, 256, size=(n, 16 if uuid else 20), dtype=np.uint8)
    if uuid:
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((n, raw.shape[1] * 2), dtype=np.uint8)
    chars[:, 0::2] = hexdigits[raw >> 4]
    chars[:, 1::2] = hexdigits[raw & 0x0F]
    if uuid:
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        chars = np.hstack([chars[:, :8], dash, chars[:, 8:12], dash, chars[:, 12:16], dash,
                           chars[:, 16:20], dash, chars[:, 20:]])
    width = chars.shape[1]
    data = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, data])


def _blank(ids: pa.Array, mask: np.ndarray) -> pa.Array:
    """``ids`` with ``""`` where ``mask``."""
    return pc.if_else(pa.array(mask), pa.scalar("", pa.string()), ids)

