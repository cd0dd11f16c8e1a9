"""What an image file's container declares, read from its bytes before Pillow parses any of it.

Why: Pillow copies every TIFF tag's value into a bytes object of its own, and it reads tags as soon as it opens a
TIFF (all of the first directory, and again with the EXIF and GPS directories when it loads), a JPEG (its EXIF,
for the dpi; its MPF index) or an EXIF block (for the orientation). 2,000 tags pointing at one 2 MB blob became
3.8 GB of copies. It also decodes every scan of a progressive JPEG over the whole image: 3,000 tiny scans held the
CPU for 28 s. Both are found here by walking the structure without copying anything, so the caller can refuse a
file before Pillow expands it.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from PIL.TiffImagePlugin import PREFIXES  # the headers Pillow takes for a TIFF structure, odd ones included

# TIFF field types -> bytes per value (TIFF 6.0 and BigTIFF), as Pillow reads them; other types are skipped by Pillow.
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
SUB_DIRECTORIES = (0x8769, 0x8825, 0xA005)  # EXIF, GPS and Interoperability directories: Pillow loads these too
ORIENTATION = 0x0112
EXIF_PREFIX = b"Exif\0\0"
# A JPEG marker inside entropy-coded data: 0xFF followed by anything but a stuffed zero, a restart marker or fill.
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI = 0xDA, 0xD9


@dataclass
class Tags:
    """The tags of a TIFF structure's first directory and its EXIF, GPS and Interoperability directories."""

    entries: int = 0  # tags, counted over those directories
    claimed: int = 0  # bytes Pillow would copy to read their values (a value is read once per tag that points at it)
    orientation: int = 1  # the EXIF orientation (1: upright)


def tiff_tags(block: bytes, max_entries: int) -> Tags:
    """Walk a TIFF structure (a TIFF file, or an EXIF block with or without its `Exif\\0\\0` prefix), stopping once
    more than `max_entries` tags were seen; raise ValueError if it is not one."""
    if block.startswith(EXIF_PREFIX):
        block = block[len(EXIF_PREFIX):]
    if not block.startswith(tuple(PREFIXES)) or len(block) < 8 or (block[2] == 43 and len(block) < 16):
        raise ValueError("not a TIFF structure")
    order = "<" if block[:2] == b"II" else ">"
    if block[2] == 43:  # BigTIFF, recognised as Pillow does
        layout = (order + "Q", 8, order + "HHQ8s", 20, order + "Q")
        first = struct.unpack_from(order + "Q", block, 8)[0]
    else:
        layout = (order + "H", 2, order + "HHL4s", 12, order + "L")
        first = struct.unpack_from(order + "L", block, 4)[0]
    tags = Tags()
    pending, seen = [first], set()
    while pending and tags.entries <= max_entries:
        offset = pending.pop()
        if offset in seen or offset + layout[1] > len(block):
            continue
        _walk_directory(block, offset, layout, tags, pending, first=not seen, max_entries=max_entries)
        seen.add(offset)
    return tags


def _walk_directory(block: bytes, offset: int, layout: tuple, tags: Tags, sub_directories: list[int], first: bool,
                    max_entries: int) -> None:
    count_format, count_size, entry_format, entry_size, offset_format = layout
    count = struct.unpack_from(count_format, block, offset)[0]
    inline = struct.calcsize(offset_format)
    start = offset + count_size
    count = min(count, max(0, (len(block) - start) // entry_size), max_entries + 1 - tags.entries)  # Pillow stops at the end too
    tags.entries += count
    for entry in range(start, start + count * entry_size, entry_size):
        tag, kind, number, value = struct.unpack_from(entry_format, block, entry)
        size = number * TYPE_SIZES.get(kind, 0)
        if size > inline:
            at = struct.unpack(offset_format, value)[0]
            tags.claimed += max(0, min(size, len(block) - at))
        if tag == ORIENTATION and kind == 3 and number == 1 and first:
            tags.orientation = struct.unpack(offset_format[0] + "H", value[:2])[0]
        if tag in SUB_DIRECTORIES and kind in (4, 13, 16, 18) and number == 1 and size <= inline:
            sub_directories.append(struct.unpack(offset_format[0] + ("L" if size == 4 else "Q"), value[:size])[0])


@dataclass
class Jpeg:
    """The parts of a JPEG that cost memory or time before or while its first image is decoded."""

    segments: int = 0  # marker segments before the first scan
    scans: int = 0  # start-of-scan markers up to the end of the first image
    exif: bytes = b""  # the first APP1 EXIF block (Pillow parses it on open)
    mpf: bytes = b""  # the MPF index (APP2; Pillow parses it on open)


def jpeg_structure(data: bytes, max_segments: int) -> Jpeg:
    """Walk a JPEG's marker segments (at most `max_segments` before the first scan) and count its scans."""
    jpeg = Jpeg()
    position = 2
    while position + 4 <= len(data) and jpeg.segments <= max_segments:
        if data[position] != 0xFF:
            return jpeg  # not a marker where one must be: Pillow will say it is damaged
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = struct.unpack_from(">H", data, position + 2)[0]
        payload = data[position + 4 : position + 2 + length]
        jpeg.segments += 1
        if marker == 0xE1 and payload.startswith(EXIF_PREFIX) and not jpeg.exif:
            jpeg.exif = payload
        elif marker == 0xE2 and payload.startswith(b"MPF\0") and not jpeg.mpf:
            jpeg.mpf = payload[4:]
        position += 2 + length
        if marker == _SOS:
            jpeg.scans = 1 + _later_scans(data, position)
            return jpeg
    return jpeg


def _later_scans(data: bytes, position: int) -> int:
    """Start-of-scan markers after the first scan's header, up to the end of the first image."""
    scans = 0
    while (found := _MARKER.search(data, position)) is not None:
        marker = data[found.start() + 1]
        if marker == _EOI:
            break
        scans += marker == _SOS
        if found.end() + 2 > len(data):
            break
        position = found.start() + 2 + struct.unpack_from(">H", data, found.start() + 2)[0]
    return scans


def png_chunks(data: bytes, max_chunks: int) -> int:
    """How many chunks a PNG has (counting stops past `max_chunks`): Pillow reads each in a Python loop."""
    chunks, position = 0, 8
    while position + 8 <= len(data) and chunks <= max_chunks:
        length = struct.unpack_from(">I", data, position)[0]
        chunks += 1
        if data[position + 4 : position + 8] == b"IEND":
            break
        position += 12 + length
    return chunks
