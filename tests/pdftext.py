"""Test helper: the text of each page of a PDF printed by Chromium (Skia), read from its ToUnicode maps.

Only what the report tests need: uncompressed object table by regex, FlateDecode streams, each
font's ToUnicode (bfchar/bfrange), hex strings shown with Tj/TJ under the font set by Tf.
"""

from __future__ import annotations

import re
import zlib


def _stream(body: bytes) -> bytes:
    m = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
    if not m:
        return b""
    raw = m.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body[: m.start()] else raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for a, b in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(a, 16)] = bytes.fromhex(b.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for a, b, c in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(c, 16)
            for i, code in enumerate(range(int(a, 16), int(b, 16) + 1)):
                out[code] = chr(start + i)
    return out


def page_texts(data: bytes) -> list[str]:
    """Each page's text (runs joined by spaces), in page order."""
    objs = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S)}
    maps: dict[int, dict[int, str]] = {}

    def font_map(num: int) -> dict[int, str]:
        if num not in maps:
            m = re.search(rb"/ToUnicode (\d+) 0 R", objs.get(num, b""))
            maps[num] = _cmap(_stream(objs[int(m.group(1))])) if m else {}
        return maps[num]

    pages = []
    for num in sorted(objs):
        body = objs[num]
        if not re.search(rb"/Type\s*/Page[^s]", body):
            continue
        fonts = {name.decode(): int(ref) for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", body)}
        content = b"".join(_stream(objs[int(c)]) for c in re.findall(rb"/Contents (\d+) 0 R", body))
        runs, cur = [], {}
        for tok in re.finditer(rb"/(F\d+) [\d.]+ Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj", content, re.S):
            if tok.group(1):
                cur = font_map(fonts.get(tok.group(1).decode(), -1))
                continue
            hexes = re.findall(rb"<([0-9A-Fa-f]*)>", tok.group(2)) if tok.group(2) is not None else [tok.group(3)]
            text = ""
            for h in hexes:
                s = h.decode()
                text += "".join(cur.get(int(s[i:i + 4], 16), "?") for i in range(0, len(s) - 3, 4))
            runs.append(text)
        pages.append(" ".join(runs))
    return pages
