#!/usr/bin/env bash
# GUI smoke test: start the real `oasis` window under Xvfb, wait for it, take a screenshot and
# check the process is still up. Needs: xvfb xdotool imagemagick x11-utils (apt-get install -y
# --no-install-recommends xvfb xdotool imagemagick x11-utils).
#
# usage: tests/gui-smoke.sh [BINARY] [SCREENSHOT]
#        tests/gui-smoke.sh -- COMMAND...     (e.g. `-- cargo run --release`, the README's command)
#   BINARY      default: target/release/oasis if built, else target/debug/oasis
#   SCREENSHOT  default: target/gui-smoke.png
# Exit 0 when the window appeared, was captured, and the app was still running 3 s later.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
shot="$root/target/gui-smoke.png"
if [[ "${1:-}" == "--" ]]; then
    shift
    cmd=("$@")
    [[ ${#cmd[@]} -gt 0 ]] || { echo "gui-smoke: nothing to run after --" >&2; exit 2; }
else
    bin="${1:-}"
    if [[ -z "$bin" ]]; then
        if [[ -x "$root/target/release/oasis" ]]; then bin="$root/target/release/oasis"; else bin="$root/target/debug/oasis"; fi
    fi
    shot="${2:-$shot}"
    [[ -x "$bin" ]] || { echo "gui-smoke: no binary at $bin (cargo build -p oasis first)" >&2; exit 2; }
    cmd=("$bin")
fi
for tool in Xvfb xdotool import xdpyinfo; do
    command -v "$tool" >/dev/null || { echo "gui-smoke: $tool missing (apt-get install xvfb xdotool imagemagick x11-utils)" >&2; exit 2; }
done

# A free display number, a private runtime dir and data dir (the smoke run must not touch the
# user's settings or logs).
disp=""
for n in $(seq 91 120); do
    if [[ ! -e "/tmp/.X11-unix/X$n" && ! -e "/tmp/.X$n-lock" ]]; then disp=":$n"; break; fi
done
[[ -n "$disp" ]] || { echo "gui-smoke: no free X display" >&2; exit 2; }
work="$(mktemp -d)"
export DISPLAY="$disp" XDG_RUNTIME_DIR="$work/run" OASIS_DATA_DIR="$work/data"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

xpid="" apid=""
cleanup() {
    # The app runs in a process group of its own: `cargo run` and the app it started go together.
    [[ -n "$apid" ]] && kill -- "-$apid" 2>/dev/null || true
    [[ -n "$xpid" ]] && kill "$xpid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$DISPLAY" -screen 0 1280x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xpid=$!
for _ in $(seq 100); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
xdpyinfo >/dev/null 2>&1 || { echo "gui-smoke: Xvfb did not start" >&2; cat "$work/xvfb.log" >&2; exit 1; }

(cd "$root" && exec setsid "${cmd[@]}") >"$work/app.log" 2>&1 &
apid=$!
# A guard against a hang (a `cargo run` that still has to build gets longer), not a speed check.
wid="$(timeout 600 xdotool search --sync --name '^Oasis$' | head -1 || true)"
if [[ -z "$wid" ]]; then
    echo "gui-smoke: no Oasis window within 600 s" >&2; cat "$work/app.log" >&2; exit 1
fi
sleep 3   # let it draw a few frames and settle
if ! kill -0 "$apid" 2>/dev/null; then
    echo "gui-smoke: oasis exited after opening its window" >&2; cat "$work/app.log" >&2; exit 1
fi
mkdir -p "$(dirname "$shot")"
import -window "$wid" "$shot"
size="$(identify -format '%wx%h' "$shot")"
kill -0 "$apid" || { echo "gui-smoke: oasis died while being captured" >&2; exit 1; }
echo "gui-smoke: OK — window $wid, screenshot $shot ($size), process $apid still running"
