#!/usr/bin/env python3
"""Builds Oasis's demo firmware package: a tiny BG95-style NAND package for the virtual boards.

Run from the repository root:  python3 assets/make_demo_package.py
Writes assets/demo-package/BG95M3LAR02A03_01.300.01.300/ (about 250 KiB). Nothing in it is real
firmware: the "images" are filler bytes carrying a revision string (the virtual board reports the
revision it finds in what was written), and the programmer is a small unsigned ELF that an
unfused (virtual) board accepts. The layout follows a real Quectel NAND package:
md5.txt (CRLF, upper-case, backslash paths), update/*.mbn|*.ubi, and update/firehose/ with the
programmer, rawprogram_nand_p2K_b128K.xml, patch_p2K_b128K.xml and the compiled MIBIB.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "BG95M3LAR02A03_01.300.01.300"
ROOT = os.path.join(HERE, "demo-package", NAME)
UPDATE = os.path.join(ROOT, "update")
FIREHOSE = os.path.join(UPDATE, "firehose")
PAGE, PPB = 2048, 64  # BG95: 2 KiB pages, 64 pages per block (128 KiB blocks)

# (MIBIB name, first block, blocks, image file or None)
PARTITIONS = [
    ("0:SBL", 0, 10, "sbl1.mbn"),
    ("0:MIBIB", 10, 10, "firehose/partition_complete_p2K_b128K.mbn"),
    ("0:EFS2", 20, 100, None),
    ("0:TZ", 120, 6, "tz.mbn"),
    ("0:RPM", 126, 4, "rpm.mbn"),
    ("0:ABOOT", 130, 6, "appsboot.mbn"),
    ("0:MODEM", 136, 200, "NON-HLOS.ubi"),
    ("0:SYSTEM", 336, 300, "mdm9205-sysfs.ubi"),
]


def filler(tag, size):
    """Deterministic bytes with the package's revision in them, `size` long."""
    head = f"OASIS DEMO IMAGE {tag}\0{NAME}\0not real firmware\0".encode()
    out = bytearray(head)
    seed = hashlib.sha256(tag.encode()).digest()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


def sbl(size):
    # Page 0 of NAND starts with the SBL header magic 0x844BDCD1.
    return struct.pack("<I", 0x844BDCD1) + filler("sbl1", size - 4)


def mibib():
    page0 = struct.pack("<II", 0xFE569FAC, 0xCD7F127A).ljust(PAGE, b"\xff")
    table = struct.pack("<IIII", 0x55EE73AA, 0xE35EBDDB, 4, len(PARTITIONS))
    for name, first, blocks, _ in PARTITIONS:
        table += name.encode().ljust(16, b"\0") + struct.pack("<II", first, blocks) + bytes([0xFF, 1, 0, 0])
    return page0 + table.ljust(PAGE, b"\xff")


def programmer():
    """A small unsigned ELF32 (ARM) programmer: NULL (ELF+phdrs), hash segment, one LOAD."""
    strings = (b"QC_IMAGE_VERSION_STRING=OASIS.DEMO.FIREHOSE.1.0\0"
               b"MaxPayloadSizeToTargetInBytes\0MemoryName\0").ljust(128, b"\0")
    code = filler("firehose", 8 * 1024 - 128) + strings
    phnum, ehsize, phentsize = 3, 52, 32
    hash_off, load_off = 0x1000, 0x2000
    load_vaddr = 0x08000000
    hash_len = 40 + 3 * 32  # MBN v3 header + one SHA-256 per program header
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + b"\0" * 8
    ehdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, load_vaddr, ehsize, 0, 0x5000000,
                               ehsize, phentsize, phnum, 40, 0, 0)
    ph = b""
    ph += struct.pack("<8I", 0, 0, 0, 0, ehsize + phnum * phentsize, 0, 0x07000000, 0)
    ph += struct.pack("<8I", 0, hash_off, 0, 0, hash_len, 0x1000, 0x02200000, 0x1000)
    ph += struct.pack("<8I", 1, load_off, load_vaddr, load_vaddr, len(code), len(code), 5, 0x1000)
    # Hash table: hash0 = ELF header + program headers, hash1 = zeros (the hash segment
    # itself), then one per loadable segment.
    digests = [hashlib.sha256(ehdr + ph).digest(), b"\0" * 32, hashlib.sha256(code).digest()]
    body = b"".join(digests)
    # MBN v3 header: image_id, version, flash_addr, dest_addr, total, hash_size, sig_addr,
    # sig_size (0 = unsigned), cert_chain_addr, cert_chain_size (0).
    # image_id 13 = Firehose programmer (Sahara image id of ehostdl / prog_firehose).
    hdr = struct.pack("<10I", 13, 3, 0, 0, len(body), len(body), 0, 0, 0, 0)
    hash_seg = hdr + body
    assert len(hash_seg) == hash_len
    image = bytearray((ehdr + ph).ljust(hash_off, b"\0"))
    image += hash_seg.ljust(load_off - hash_off, b"\0")
    image += code
    return bytes(image)


def rawprogram(files):
    """Quectel-style NAND rawprogram: no labels, Windows relative paths, SBL handled first."""
    attrs = f'PAGES_PER_BLOCK="{PPB}" SECTOR_SIZE_IN_BYTES="{PAGE}"'
    lines = ['<?xml version="1.0" ?>', "<data>",
             "  <!--Oasis demo package: BlockSize = 128 KB, PageSize = 2 KB-->"]
    for name, first, blocks, image in PARTITIONS:
        if image is None:
            continue
        start, count = first * PPB, blocks * PPB
        fname = image.split("/")[-1] if image.startswith("firehose/") else "..\\" + image
        if name not in ("0:SBL", "0:MIBIB"):
            lines.append(f'  <erase {attrs} num_partition_sectors="{count}" physical_partition_number="0" start_sector="{start}"/>')
        lines.append(f'  <program {attrs} filename="{fname}" num_partition_sectors="{count}" physical_partition_number="0" start_sector="{start}"/>')
    lines.append(f'  <erase {attrs} num_partition_sectors="{10 * PPB}" physical_partition_number="0" start_sector="{10 * PPB}"/>')
    lines.append(f'  <erase {attrs} num_partition_sectors="{10 * PPB}" physical_partition_number="0" start_sector="0"/>')
    lines.append("</data>")
    return ("\n".join(lines) + "\n").encode()


PATCH = b"""<?xml version="1.0" ?>
<patches>
  <!--Oasis demo package: NAND packages carry no DISK patches-->
</patches>
"""


def main():
    os.makedirs(FIREHOSE, exist_ok=True)
    files = {
        "update/sbl1.mbn": sbl(12 * 1024),
        "update/tz.mbn": filler("tz", 24 * 1024),
        "update/rpm.mbn": filler("rpm", 8 * 1024),
        "update/appsboot.mbn": filler("aboot", 16 * 1024),
        "update/NON-HLOS.ubi": filler("modem", 96 * 1024),
        "update/mdm9205-sysfs.ubi": filler("system", 48 * 1024),
        "update/firehose/partition_complete_p2K_b128K.mbn": mibib(),
        "update/firehose/prog_firehose_nand_mdm9x05.elf": programmer(),
        "update/firehose/rawprogram_nand_p2K_b128K.xml": None,
        "update/firehose/patch_p2K_b128K.xml": PATCH,
    }
    files["update/firehose/rawprogram_nand_p2K_b128K.xml"] = rawprogram(files)
    for rel, data in files.items():
        with open(os.path.join(ROOT, rel), "wb") as f:
            f.write(data)
    md5 = ["VERSION:1.0", "FILE:START"]
    for rel in sorted(files):
        digest = hashlib.md5(files[rel]).hexdigest().upper()
        md5.append("FILE:\\" + rel.replace("/", "\\") + ":" + digest)
    md5.append("FILE:END")
    with open(os.path.join(ROOT, "md5.txt"), "wb") as f:
        f.write(("\r\n".join(md5) + "\r\n").encode())
    total = sum(len(d) for d in files.values())
    print(f"wrote {len(files) + 1} files, {total // 1024} KiB, into {ROOT}")


if __name__ == "__main__":
    main()
