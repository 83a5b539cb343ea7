#!/usr/bin/env bash
# Retake the README screenshots from a REAL `oasis` window under Xvfb, driving it with xdotool
# over the virtual demo boards (needs the engine-backed build: `cargo build -p oasis` with the
# `engine` feature on). Clicks go to fixed window coordinates of the default 1100×760 window, so
# re-check the pictures by eye after a layout change.
#
# usage: docs/screenshots/make-screenshots.sh [BINARY]
# Needs: xvfb xdotool imagemagick x11-utils.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-$root/target/debug/oasis}"
out="$root/docs/screenshots"
export DISPLAY=:97
work="$(mktemp -d)"
export XDG_RUNTIME_DIR="$work/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

xpid="" apid="" wid=""
cleanup() {
    [[ -n "$apid" ]] && kill "$apid" 2>/dev/null || true
    [[ -n "$xpid" ]] && kill "$xpid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$DISPLAY" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
xpid=$!
for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done

start_app() { # fresh data folder: first run, demo package opened, virtual boards listed
    [[ -n "$apid" ]] && kill "$apid" 2>/dev/null && sleep 0.5
    OASIS_DATA_DIR="$work/data-$1" "$bin" >"$work/app-$1.log" 2>&1 &
    apid=$!
    wid="$(timeout 60 xdotool search --sync --name '^Oasis$' | head -1)"
    sleep 3
}
click() { xdotool mousemove --window "$wid" "$1" "$2" click 1; sleep "${3:-1}"; }
shot() { xdotool mousemove --window "$wid" 1000 740; sleep 0.3; import -window "$wid" "$out/$1"; echo "wrote $out/$1"; }

# Guided flash on the healthy virtual BG95: progress, then the verdict.
start_app flash
click 663 431          # Start flash
click 372 498 1.3      # Erase and flash (the confirmation names the regions and the backup)
shot flash-in-progress.png
sleep 10
shot verdict-success.png
# The worn-NAND board: a failure verdict with the raw log unfolded.
click 73 271           # Flash another board
click 119 470 2        # board #3
click 663 431
click 372 498 9
click 333 270          # Show raw log
shot verdict-failure.png
# Diagnostics of the running EG25-G with its AT answers.
click 167 12           # Diagnostics tab
click 110 124 2        # board #2
click 665 44 3         # Probe AT
shot diagnostics.png

# Bench: all three virtual boards at once.
start_app bench
click 242 12           # Bench tab
click 15 62 1.3        # arm auto-start
shot bench.png
