#!/usr/bin/env python3
"""Draws Oasis's built-in pictures: the window icon and one illustration per board state.

Run from the repository root:  python3 assets/make_pictures.py   (needs Pillow: pip install pillow)
Writes assets/icon.png and assets/states/<state>.png. The app embeds them with include_bytes!.
"""
import os
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 320, 180
S = 2  # draw at 2x, downsample for smooth edges

BG = (246, 247, 249)
PCB = (34, 120, 84)
PCB_DARK = (22, 82, 58)
CHIP = (40, 44, 52)
HOST = (70, 80, 96)
SCREEN = (200, 226, 240)
CABLE = (60, 60, 60)
GREEN = (46, 160, 67)
AMBER = (214, 140, 20)
RED = (200, 50, 50)
BLUE = (40, 110, 200)
GREY = (150, 150, 150)


def font(size, bold=False):
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return ImageFont.truetype(p, size * S)
    return ImageFont.load_default()


def sc(*xs):
    return [x * S for x in xs]


def module(d, label="MODULE", chip="Qualcomm", chip_fill=CHIP):
    """A module PCB on the left."""
    d.rounded_rectangle(sc(18, 50, 118, 140), radius=6 * S, fill=PCB, outline=PCB_DARK, width=2 * S)
    d.rectangle(sc(42, 70, 94, 114), fill=chip_fill)
    d.text(sc(68, 87), chip, fill=(230, 230, 230), font=font(8), anchor="mm")
    d.text(sc(68, 128), label, fill=(235, 245, 238), font=font(10, True), anchor="mm")
    for i in range(8):  # castellated pads
        x = 24 + i * 12
        d.rectangle(sc(x, 50, x + 5, 55), fill=(214, 180, 90))
        d.rectangle(sc(x, 135, x + 5, 140), fill=(214, 180, 90))
    d.rectangle(sc(118, 86, 128, 104), fill=(170, 170, 175))  # USB socket


def host(d):
    """A laptop on the right."""
    d.rounded_rectangle(sc(210, 48, 300, 116), radius=4 * S, fill=HOST)
    d.rectangle(sc(216, 54, 294, 110), fill=SCREEN)
    d.polygon(sc(200, 124, 310, 124, 302, 116, 208, 116), fill=HOST)


def cable(d, ok=True, color=CABLE):
    if ok:
        d.line(sc(128, 95, 170, 95, 190, 130, 214, 130), fill=color, width=4 * S, joint="curve")
    else:
        d.line(sc(128, 95, 150, 95, 160, 118), fill=color, width=4 * S, joint="curve")
        d.rectangle(sc(155, 116, 167, 128), fill=GREY)
        d.line(sc(214, 130, 196, 130), fill=color, width=4 * S)


def bubble(d, x, y, text, color, w=60):
    d.rounded_rectangle(sc(x, y, x + w, y + 26), radius=8 * S, fill=(255, 255, 255), outline=color, width=2 * S)
    d.polygon(sc(x + 10, y + 26, x + 20, y + 26, x + 8, y + 36), fill=color)
    d.text(sc(x + w / 2, y + 13), text, fill=color, font=font(11, True), anchor="mm")


def badge(d, kind, color):
    """A round status mark in the top-right corner."""
    cx, cy, r = 288, 24, 16
    d.ellipse(sc(cx - r, cy - r, cx + r, cy + r), fill=color)
    w = 4 * S
    if kind == "ok":
        d.line(sc(cx - 8, cy, cx - 2, cy + 7, cx + 9, cy - 7), fill="white", width=w, joint="curve")
    elif kind == "x":
        d.line(sc(cx - 7, cy - 7, cx + 7, cy + 7), fill="white", width=w)
        d.line(sc(cx - 7, cy + 7, cx + 7, cy - 7), fill="white", width=w)
    elif kind == "!":
        d.line(sc(cx, cy - 9, cx, cy + 3), fill="white", width=w)
        d.ellipse(sc(cx - 2, cy + 7, cx + 2, cy + 11), fill="white")
    elif kind == "i":
        d.ellipse(sc(cx - 2, cy - 11, cx + 2, cy - 7), fill="white")
        d.line(sc(cx, cy - 3, cx, cy + 10), fill="white", width=w)


def caption(d, text, color):
    d.text(sc(W / 2, 164), text, fill=color, font=font(12, True), anchor="mm")


def padlock(d, x, y, color):
    d.arc(sc(x - 9, y - 18, x + 9, y + 2), 180, 360, fill=color, width=4 * S)
    d.rounded_rectangle(sc(x - 13, y - 6, x + 13, y + 16), radius=3 * S, fill=color)
    d.ellipse(sc(x - 3, y + 1, x + 3, y + 7), fill="white")


def scene(state):
    img = Image.new("RGB", (W * S, H * S), BG)
    d = ImageDraw.Draw(img)
    host(d)
    if state == "normal_at_ok":
        module(d)
        cable(d)
        bubble(d, 130, 14, "AT  OK", GREEN, 70)
        badge(d, "ok", GREEN)
        caption(d, "Running - AT port answers", GREEN)
    elif state == "normal_at_silent":
        module(d)
        cable(d)
        bubble(d, 130, 14, "AT ...?", AMBER, 70)
        badge(d, "!", AMBER)
        caption(d, "Running - AT port silent", AMBER)
    elif state == "edl_waiting":
        module(d, "9008", "PBL")
        cable(d, color=BLUE)
        bubble(d, 130, 14, "HELLO", BLUE, 70)
        badge(d, "ok", GREEN)
        caption(d, "Download mode - waiting for a programmer", BLUE)
    elif state == "edl_programmer_running":
        module(d, "9008", "Firehose")
        cable(d, color=BLUE)
        bubble(d, 130, 14, "<xml/>", BLUE, 70)
        badge(d, "ok", GREEN)
        caption(d, "Download mode - programmer running", BLUE)
    elif state == "memory_dump":
        module(d, "900E", "CRASH", chip_fill=RED)
        cable(d)
        d.polygon(sc(66, 8, 56, 30, 66, 30, 58, 48, 80, 22, 69, 22, 76, 8), fill=AMBER)
        badge(d, "!", AMBER)
        caption(d, "Crashed - memory dump mode", AMBER)
    elif state == "claimed_by_driver":
        module(d, "9008", "PBL")
        cable(d)
        d.rounded_rectangle(sc(150, 20, 230, 44), radius=5 * S, fill=AMBER)
        d.text(sc(190, 32), "other driver", fill="white", font=font(9, True), anchor="mm")
        d.line(sc(180, 44, 180, 118), fill=AMBER, width=3 * S)
        badge(d, "!", AMBER)
        caption(d, "Held by another driver or program", AMBER)
    elif state == "no_permission":
        module(d, "9008", "PBL")
        cable(d)
        padlock(d, 255, 75, RED)
        badge(d, "!", AMBER)
        caption(d, "No permission to open the device", AMBER)
    elif state == "not_on_usb":
        module(d)
        cable(d, ok=False)
        d.line(sc(178, 84, 198, 104), fill=RED, width=4 * S)
        d.line(sc(178, 104, 198, 84), fill=RED, width=4 * S)
        badge(d, "x", RED)
        caption(d, "Not on USB", RED)
    elif state == "flapping":
        module(d)
        d.line(sc(128, 95, 150, 95, 158, 80, 166, 110, 174, 80, 182, 110, 190, 130, 214, 130),
               fill=AMBER, width=4 * S, joint="curve")
        for x, up in ((150, True), (176, False), (202, True)):
            y = 30
            tip = y - 8 if up else y + 8
            d.polygon(sc(x - 6, y, x + 6, y, x, tip), fill=RED)
        badge(d, "x", RED)
        caption(d, "Connects and drops again and again", RED)
    elif state == "not_firehose_module":
        module(d, "EC200", "ASR", chip_fill=(90, 60, 110))
        cable(d)
        d.regular_polygon((170 * S, 34 * S, 18 * S), 8, rotation=22.5, fill=RED)
        d.text(sc(170, 34), "STOP", fill="white", font=font(8, True), anchor="mm")
        badge(d, "x", RED)
        caption(d, "Not a Qualcomm Firehose module", RED)
    else:
        raise SystemExit(f"unknown state {state}")
    return img.resize((W, H), Image.LANCZOS)


def icon():
    n = 256
    img = Image.new("RGBA", (n * S, n * S), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(sc(8, 8, 248, 248), radius=48 * S, fill=(18, 120, 130))
    d.ellipse(sc(40, 170, 216, 226), fill=(70, 190, 200))  # the pool
    d.rectangle(sc(76, 56, 180, 160), fill=(245, 245, 240))  # the chip
    d.rectangle(sc(92, 72, 164, 144), fill=(18, 120, 130))
    for i in range(5):
        o = 64 + i * 24
        for a, b in ((o, 44), (o, 160)):
            d.rectangle(sc(a, b, a + 8, b + 12), fill=(245, 245, 240))
        for a, b in ((64, o), (180, o)):
            d.rectangle(sc(a, b, a + 12, b + 8), fill=(245, 245, 240))
    d.polygon(sc(134, 80, 108, 114, 126, 114, 118, 138, 148, 102, 130, 102, 140, 80), fill=(255, 210, 60))
    return img.resize((n, n), Image.LANCZOS)


STATES = [
    "normal_at_ok", "normal_at_silent", "edl_waiting", "edl_programmer_running", "memory_dump",
    "claimed_by_driver", "no_permission", "not_on_usb", "flapping", "not_firehose_module",
]

if __name__ == "__main__":
    os.makedirs(os.path.join(HERE, "states"), exist_ok=True)
    for s in STATES:
        scene(s).save(os.path.join(HERE, "states", s + ".png"), optimize=True)
    icon().save(os.path.join(HERE, "icon.png"), optimize=True)
    print("wrote", len(STATES), "state pictures and icon.png")
