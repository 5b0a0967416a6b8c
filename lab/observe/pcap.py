"""Classic libpcap files (what tcpdump -w writes and Wireshark opens), written and read with struct.

The format is two fixed little structures (a 24-byte file header, a 16-byte
record header per frame), so a dependency would add nothing: microsecond
timestamps, link type Ethernet, every frame kept whole.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

MAGIC = 0xA1B2C3D4  # microsecond timestamps, written in this machine's byte order (readers detect it)
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
_FILE = struct.Struct("=IHHiIII")
_RECORD = struct.Struct("=IIII")


def write(path: Path, frames: Iterable[tuple[float, bytes]]) -> int:
    """Write (timestamp, frame) pairs to `path`; returns how many were written."""
    count = 0
    with open(path, "wb") as f:
        f.write(_FILE.pack(MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for stamp, data in frames:
            sec = int(stamp)
            usec = min(round((stamp - sec) * 1e6), 999_999)
            kept = data[:SNAPLEN]
            f.write(_RECORD.pack(sec, usec, len(kept), len(data)))
            f.write(kept)
            count += 1
    return count


def read(path: Path) -> list[tuple[float, bytes]]:
    """The frames of a classic pcap file (either byte order), for tests and tools."""
    blob = path.read_bytes()
    if len(blob) < _FILE.size:
        raise ValueError(f"{path}: shorter than a pcap header")
    order = "<" if struct.unpack("<I", blob[:4])[0] == MAGIC else ">"
    magic, _major, _minor, _zone, _sig, _snap, link = struct.unpack(order + "IHHiIII", blob[:24])
    if magic != MAGIC or link != LINKTYPE_ETHERNET:
        raise ValueError(f"{path}: not a microsecond Ethernet pcap file")
    frames, at = [], 24
    while at + 16 <= len(blob):
        sec, usec, incl, _orig = struct.unpack(order + "IIII", blob[at : at + 16])
        frames.append((sec + usec / 1e6, blob[at + 16 : at + 16 + incl]))
        at += 16 + incl
    return frames
