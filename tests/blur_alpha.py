#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Transparency check for examples/blur, independent of blur.c and blur.comp.

  blur_alpha.py make IN.png              white text on transparent black
  blur_alpha.py check IN.png OUT.png R   check blur's OUT.png in closed form

The PNGs are written and read here with zlib (no PIL, no libpng), and the
expected values are not computed by the blur under test:
  - every source pixel is white or fully transparent, so in premultiplied
    alpha every output pixel with alpha > 0 is exactly RGB 255, whatever
    colour the transparent pixels carry (here black, red and blue);
  - a pixel whose whole neighbourhood is transparent is 0,0,0,0;
  - alpha is the plain blur of the alpha channel: a direct 2-D convolution
    with the Gaussian blur documents (sigma = R / 2, weights summing to 1,
    edges clamped), in double precision, within 1/255.
Exit 0 when all hold, 1 otherwise, printing the first pixels that fail.
"""
import math
import struct
import sys
import zlib

W, H = 150, 90  # three by two tiles of 64, the last ones partial


def write_png(path, w, h, px):
    raw = b"".join(b"\0" + bytes(v for p in px[y * w:(y + 1) * w] for v in p)
                   for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", body)
            if (depth, ctype, lace) != (8, 6, 0):
                sys.exit("%s: not 8-bit RGBA, not interlaced" % path)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, bpp, stride = zlib.decompress(idat), 4, w * 4
    prev, rows = bytearray(stride), []
    for y in range(h):
        ft = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            c = prev[i - bpp] if i >= bpp else 0
            pred = (0, a, prev[i], (a + prev[i]) // 2,
                    paeth(a, prev[i], c))[ft]
            row[i] = (row[i] + pred) & 0xff
        rows.append(row)
        prev = row
    return w, h, [tuple(rows[y][4 * x:4 * x + 4])
                  for y in range(h) for x in range(w)]


def card():
    """White strokes (an 'H', an 'I', a ring), a white band whose alpha
    ramps 0..255, on transparent pixels coloured black, red or blue."""
    px = []
    for y in range(H):
        for x in range(W):
            clear = ((0, 0, 0, 0), (255, 0, 0, 0), (0, 0, 255, 0))
            p = clear[(x // 20 + y // 15) % 3]
            if 10 <= y < 50 and (10 <= x < 16 or 30 <= x < 36 or
                                 (16 <= x < 30 and 27 <= y < 33) or
                                 46 <= x < 52):
                p = (255, 255, 255, 255)
            d = math.hypot(x - 100, y - 30)
            if 14 <= d < 20:
                p = (255, 255, 255, 255)
            if 62 <= y < 78 and 8 <= x < 142:
                p = (255, 255, 255, (x - 8) * 255 // 133)
            px.append(p)
    return px


def check(inp, outp, r):
    w, h, src = read_png(inp)
    ow, oh, out = read_png(outp)
    if (ow, oh) != (w, h):
        sys.exit("%s is %dx%d, %s %dx%d" % (outp, ow, oh, inp, w, h))
    sigma = r / 2.0
    g = [math.exp(-k * k / (2 * sigma * sigma)) for k in range(-r, r + 1)]
    g = [v / sum(g) for v in g]
    alpha = [p[3] for p in src]
    white = clear = semi = 0
    grey, worst = 0.0, 0.0
    fails = {"not white": [], "not 0,0,0,0 (all neighbours transparent)": [],
             "alpha off the convolution by more than 1": []}
    bad_white, bad_clear, bad_alpha = fails.values()
    for y in range(h):
        for x in range(w):
            a = 0.0
            for j in range(-r, r + 1):
                yy = min(max(y + j, 0), h - 1)
                for i in range(-r, r + 1):
                    xx = min(max(x + i, 0), w - 1)
                    a += g[j + r] * g[i + r] * alpha[yy * w + xx]
            p = out[y * w + x]
            at = "(%d,%d) %s" % (x, y, p)
            worst = max(worst, abs(p[3] - a))
            if abs(p[3] - a) > 1:
                bad_alpha.append("%s, convolution %.2f" % (at, a))
            if a == 0:
                clear += 1
                if p != (0, 0, 0, 0):
                    bad_clear.append(at)
            if p[3] > 0 and p[:3] != (255, 255, 255):
                bad_white.append(at)
            white += p[3] > 0 and p[:3] == (255, 255, 255)
            if 0 < p[3] < 255:
                semi += 1
                grey += sum(p[:3]) / 3.0
    print("blur alpha: %dx%d, radius %d: %d of %d pixels with alpha > 0 "
          "white (semi-transparent ones' mean colour %.1f), %d transparent "
          "neighbourhoods, alpha off the 2-D convolution by %.2f/255 at most"
          % (w, h, r, white, sum(p[3] > 0 for p in out), grey / max(semi, 1),
             clear, worst))
    for what, where in fails.items():
        if where:
            print("  %d pixels %s: %s" % (len(where), what,
                                          ", ".join(where[:3])))
    return 1 if any(fails.values()) else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        write_png(sys.argv[2], W, H, card())
    elif (len(sys.argv) == 5 and sys.argv[1] == "check" and
          sys.argv[4].isdigit() and int(sys.argv[4]) > 0):
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    else:
        sys.exit(__doc__)
