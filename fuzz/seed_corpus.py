#!/usr/bin/env python3
"""Seed the protocol fuzz corpora in fuzz/corpus/<target>/ from public logs, and the sparse
corpus from hand-built images.

Run from anywhere: `python3 fuzz/seed_corpus.py [--shared PATH]` with a real-world corpus folder
(the one `OASIS_REALWORLD` names). It reads the logs at seed time and writes protocol messages
only (Sahara hex packets cut out of edl debug logs, single Firehose elements wrapped as
documents). Package-side seeds (programmers, package XMLs, NAND tables) are never taken from
third-party files: `cargo run -p oasis-testkit --bin fuzz-seeds` generates them. Seeds named
`ok-*` must be accepted by their entry point; the stable replay tests assert that. Re-running is
idempotent (file names are content hashes).
"""

import argparse
import hashlib
import pathlib
import re
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def write(target, data, ok=False, tag=""):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:12]
    name = ("ok-" if ok else "") + (tag + "-" if tag else "") + h
    (d / name).write_bytes(data)


def hex_packets(text):
    """Sahara packets as the edl tool logs them: `RX:0100...` / `TX:0c00...`."""
    out = []
    for m in re.finditer(r"\b(RX|TX):\s*([0-9a-fA-F]{16,})", text):
        out.append((m.group(1), bytes.fromhex(m.group(2)[: len(m.group(2)) // 2 * 2])))
    return out


def element_lines(text):
    """Single Firehose elements as QFirehose logs them, one per line."""
    els = []
    for line in text.splitlines():
        m = re.search(r"(<(response|log|program|erase|configure|patch|read|power|"
                      r"getsha256digest|nop|setbootablestoragedrive|getstorageinfo)\b[^>]*/>)",
                      line)
        if m:
            els.append(m.group(1))
    return els


def doc(elements):
    body = "".join(elements)
    return ('<?xml version="1.0" encoding="UTF-8" ?><data>' + body + "</data>").encode()


def sahara(cmd, *words):
    return struct.pack("<II", cmd, 8 + 4 * len(words)) + struct.pack("<%dI" % len(words), *words)


def synthetic_sahara():
    hello = sahara(1, 2, 1, 0x400, 0, 0, 0, 0, 0, 0, 0)
    read = sahara(3, 13, 0, 0x400)
    read2 = sahara(3, 13, 0x400, 0xC00)
    read64 = struct.pack("<II", 0x12, 32) + struct.pack("<QQQ", 13, 0, 0x800)
    end = sahara(4, 13, 0)
    done = sahara(6, 1)
    cmd_ready = sahara(0xB)
    exec_resp = sahara(0xE, 1, 4)
    return {
        "hello": hello, "read": read, "read64": read64, "end": end, "done": done,
        "session": hello + read + read2 + end + done,
        "session64": hello + read64 + end + done,
        "identity": hello + cmd_ready + exec_resp + b"\x4d\x3c\x2b\x1a",
        "bad-status": hello + read + sahara(4, 13, 0x21),
        "reset": hello + read + hello,
    }


def sparse_image(chunks, blk=4096):
    """Android sparse v1.0: chunks are ('raw', bytes) / ('fill', u32, nblocks) / ('skip', n)."""
    body = b""
    total = 0
    for c in chunks:
        if c[0] == "raw":
            n = len(c[1]) // blk
            body += struct.pack("<HHII", 0xCAC1, 0, n, 12 + len(c[1])) + c[1]
        elif c[0] == "fill":
            n = c[2]
            body += struct.pack("<HHII", 0xCAC2, 0, n, 16) + struct.pack("<I", c[1])
        else:
            n = c[1]
            body += struct.pack("<HHII", 0xCAC3, 0, n, 12)
        total += n
    head = struct.pack("<IHHHHIIII", 0xED26FF3A, 1, 0, 28, 12, blk, total, len(chunks), 0)
    return head + body


def seed_proto(shared):
    for f in sorted((shared / "transcripts/issue-excerpts").glob("*hex-debug*.txt")):
        pkts = hex_packets(f.read_text(errors="replace"))
        board = b"".join(p for d, p in pkts if d == "RX")
        for _, p in pkts:
            write("sahara_packet", p, ok=True, tag="real")
        if board:
            write("sahara_host", b"\x00" + board, tag="real")
            write("sahara_host", b"\x01" + board, tag="real")
    for name, p in synthetic_sahara().items():
        write("sahara_packet", p, ok=True, tag=name)
        for ctl in (0, 1, 2, 5):
            write("sahara_host", bytes([ctl]) + p, tag=name)
    texts = sorted((shared / "transcripts/qfirehose").glob("*.txt")) + \
        sorted((shared / "transcripts/issue-excerpts").glob("*.txt"))
    for f in texts:
        els = element_lines(f.read_text(errors="replace"))
        seen = set()
        for e in els:
            if e not in seen:
                seen.add(e)
                write("firehose_xml", doc([e]), ok=True, tag="real")
        board = [e for e in els if e.startswith(("<response", "<log"))][:40]
        if board:
            stream = b"".join(doc([e]) for e in board)
            write("firehose_stream", b"\x40\x00" + stream, tag="real")
            write("firehose_stream", b"\x07\x10" + b"\xff" * 16 + stream, tag="real-raw")


def seed_sparse():
    blk = 4096
    write("sparse", sparse_image([("raw", b"\x11" * blk), ("fill", 0xDEADBEEF, 3), ("skip", 2),
                                  ("raw", bytes(range(256)) * 32)]), ok=True, tag="mixed")
    write("sparse", sparse_image([("fill", 0, 16)]), ok=True, tag="fill")
    write("sparse", sparse_image([("skip", 1), ("raw", b"\xa5" * 1024)], blk=1024), ok=True,
          tag="blk1k")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", required=True, help="the real-world corpus folder")
    args = ap.parse_args()
    shared = pathlib.Path(args.shared)
    if not (shared / "SOURCES.md").exists():
        sys.exit(f"no fixtures at {shared} (pass --shared)")
    seed_proto(shared)
    seed_sparse()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
