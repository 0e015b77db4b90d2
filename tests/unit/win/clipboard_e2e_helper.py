#!/usr/bin/env python3
"""Images and the region for the Wine clipboard test, with the standard library only.

  clipboard_e2e_helper.py make W H SEED OUT   writes a W x H RGB PNG of noise (does not compress),
                                    or a 24-bit BMP when OUT ends in .bmp
  clipboard_e2e_helper.py same A B            exit 0 when A and B hold the same RGB pixels
                                    (alpha, when one has it, must be opaque); each a
                                    PNG or a BMP (Wine's X11 clipboard serves CF_DIB
                                    as image/bmp)
  clipboard_e2e_helper.py asked REGION
                                    prints the agent's last request in its clipboard
                                    channel: "MIME ACKED" (protocol/region.hpp: 1 text,
                                    2 image/png; ACKED the bytes of the answer taken)
"""
import random
import struct
import sys
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def make(w, h, seed, out):
    rng = random.Random(seed)
    if out.endswith(".bmp"):
        stride = (w * 3 + 3) // 4 * 4
        pixels = b"".join(bytes(rng.getrandbits(8) for _ in range(w * 3)) + bytes(stride - w * 3)
                          for _ in range(h))
        info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
        head = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
        with open(out, "wb") as f:
            f.write(head + info + pixels)
        return
    raw = b"".join(b"\0" + bytes(rng.getrandbits(8) for _ in range(w * 3)) for _ in range(h))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    with open(out, "wb") as f:
        f.write(png)


def decode_bmp(path, data):
    """(w, h, rows of RGBA bytes) of an uncompressed 24- or 32-bit BMP (alpha taken as opaque)."""
    (offbits,) = struct.unpack("<I", data[10:14])
    _, w, h, _, bits, compression = struct.unpack("<IiiHHI", data[14:34])
    if bits not in (24, 32) or compression not in (0, 3):
        raise ValueError(f"{path}: {bits}-bit BMP, compression {compression}")
    stride, bpp = (w * bits + 31) // 32 * 4, bits // 8
    rows = []
    for y in range(abs(h)):
        row = h - 1 - y if h > 0 else y
        line = data[offbits + row * stride:offbits + row * stride + w * bpp]
        rows.append(b"".join(bytes([line[x * bpp + 2], line[x * bpp + 1], line[x * bpp], 255])
                             for x in range(w)))
    return w, abs(h), rows


def decode(path):
    """(w, h, rows of RGBA bytes) of an 8-bit, non-interlaced grey/RGB/RGBA PNG, or a BMP."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"BM":
        return decode_bmp(path, data)
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG ({len(data)} bytes)")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace != 0:
        raise ValueError(f"{path}: depth {depth}, color type {ctype}, interlace {interlace}")
    raw, stride, bpp = zlib.decompress(idat), w * channels, channels
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        rgba = bytearray()
        for x in range(w):
            px = line[x * bpp:(x + 1) * bpp]
            if channels in (1, 2):
                rgba += bytes([px[0]] * 3) + bytes([px[1] if channels == 2 else 255])
            else:
                rgba += px[:3] + bytes([px[3] if channels == 4 else 255])
        rows.append(bytes(rgba))
    return w, h, rows


def same(a, b):
    wa, ha, ra = decode(a)
    wb, hb, rb = decode(b)
    if (wa, ha) != (wb, hb):
        print(f"sizes differ: {wa}x{ha} and {wb}x{hb}")
        return 1
    for y in range(ha):
        for x in range(wa):
            pa, pb = ra[y][x * 4:x * 4 + 4], rb[y][x * 4:x * 4 + 4]
            if pa[:3] != pb[:3] or pa[3] != 255 or pb[3] != 255:
                print(f"pixel {x},{y} differs: {tuple(pa)} and {tuple(pb)}")
                return 1
    return 0


def asked(region):
    with open(region, "rb") as f:
        data = f.read()
    (count,) = struct.unpack("<I", data[32:36])
    for i in range(min(count, 16)):
        kind, _, offset, _ = struct.unpack("<IIQQ", data[40 + 24 * i:64 + 24 * i])
        if kind == 5:  # ChannelKind::clipboard_to_host, written by the agent
            mime, acked = struct.unpack("<IQ", data[offset + 116:offset + 128])
            print(mime, acked)
            return 0
    print("no clipboard channel")
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "asked":
        sys.exit(asked(sys.argv[2]))
    if sys.argv[1] == "make":
        make(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        sys.exit(0)
    sys.exit(same(sys.argv[2], sys.argv[3]))
