#!/usr/bin/env bash
# The Windows build, run here under Wine: cross-builds oasis-cli.exe and oasis.exe
# (x86_64-pc-windows-gnu, mingw-w64), then in a private Wine prefix
#   1. flashes the demo package onto a virtual board served on a pseudo-terminal that Wine shows
#      as COM7 (`oasis-cli emulate --pty`, HKLM\Software\Wine\Ports), confirming the new firmware
#      over the same port; the flash must end verified within a bounded time,
#   2. runs `devices` and `diagnose --port COM7` (the board now answers AT there),
#   3. starts the app on Xvfb, checks it stays up and saves a screenshot
#      (target/ci-artifacts/oasis-windows.png).
# Wine 8 lacks bcryptprimitives.dll (Rust's std needs ProcessPrng from it): a stand-in built
# from bcryptprimitives.c goes into the prefix's system32. Test scaffolding only, never shipped.
# Called by .ci/run; runs alone too (as root it installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WIN_TARGET=x86_64-pc-windows-gnu
ART=$TARGET_DIR/ci-artifacts
WORK=$(mktemp -d /tmp/oasis-wine.XXXXXX)
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0}
export WINEPREFIX=$TARGET_DIR/wine-prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
FLASH_LIMIT_S=${OASIS_WINE_FLASH_LIMIT_S:-90}

step() { echo "== wine: $*"; }
fail() { echo "wine check FAILED: $*" >&2; exit 1; }

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${WINE:-}" ]; then "${WINESERVER:-wineserver}" -k 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "tools (wine64, mingw-w64, Xvfb, the Windows Rust target)"
need=()
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v import >/dev/null || need+=(imagemagick)
command -v xdotool >/dev/null || need+=(xdotool)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
rustup target add "$WIN_TARGET" >/dev/null
if [ -x /usr/lib/wine/wine64 ]; then WINE=/usr/lib/wine/wine64; else WINE=$(command -v wine64); fi
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver)
[ -x "$WINESERVER" ] || WINESERVER=/usr/lib/wine/wineserver
"$WINE" --version

step "build: oasis-cli for Linux (the virtual board) and oasis-cli.exe + oasis.exe for Windows"
cargo build --locked -p oasis-cli
cargo build --locked --target "$WIN_TARGET" -p oasis-cli -p oasis --bins
CLI_LINUX=$TARGET_DIR/debug/oasis-cli
CLI_EXE=$TARGET_DIR/$WIN_TARGET/debug/oasis-cli.exe
APP_EXE=$TARGET_DIR/$WIN_TARGET/debug/oasis.exe
ls -l "$CLI_EXE" "$APP_EXE"

step "prefix: $WINEPREFIX (private) with the bcryptprimitives.dll stand-in"
mkdir -p "$WINEPREFIX"
"$WINE" wineboot --init >/dev/null 2>&1 || true
"$WINESERVER" -w || true
SYS32=$WINEPREFIX/drive_c/windows/system32
[ -d "$SYS32" ] || fail "the Wine prefix has no system32 ($SYS32)"
x86_64-w64-mingw32-gcc -shared -O2 -o "$SYS32/bcryptprimitives.dll" .ci/wine/bcryptprimitives.c -ladvapi32
"$WINE" "$CLI_EXE" --version || fail "oasis-cli.exe does not start under Wine"

winpath() { local p; p=$(readlink -f "$1"); echo "Z:${p//\//\\}"; }

step "virtual board (BG95, download mode) on a pty, shown to Wine as COM7"
LINK=$WORK/board
"$CLI_LINUX" emulate --pty "$LINK" --profile bg95 >"$WORK/emulate.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -L "$LINK" ] && break; sleep 0.1; done
[ -L "$LINK" ] || fail "the virtual board's pty never appeared: $(cat "$WORK/emulate.log")"
PTS=$(readlink -f "$LINK")
"$WINE" reg add 'HKLM\Software\Wine\Ports' /v COM7 /t REG_SZ /d "$PTS" /f >/dev/null
"$WINESERVER" -k || true
"$WINESERVER" -w || true
echo "COM7 = $PTS"

step "oasis-cli.exe devices"
"$WINE" "$CLI_EXE" devices | tee "$WORK/devices.txt" || fail "devices exited $?"

step "oasis-cli.exe flash (demo package) --port COM7, confirmed on COM7 after the reset"
PKG=$(winpath assets/demo-package)
start=$(date +%s)
set +e
timeout 600 "$WINE" "$CLI_EXE" flash "$PKG" --port COM7 --at-port COM7 --json >"$WORK/flash.jsonl" 2>"$WORK/flash.err"
code=$?
set -e
took=$(( $(date +%s) - start ))
tail -n 3 "$WORK/flash.jsonl" || true
echo "flash exit $code after ${took}s"
[ "$code" = 0 ] || { cat "$WORK/flash.err"; fail "flash over COM7 exited $code"; }
result=$(tail -n 1 "$WORK/flash.jsonl")
echo "$result" | grep -q '"ok":true' || fail "flash result not ok: $result"
echo "$result" | grep -q 'verified' || fail "flash result does not say verified: $result"
[ "$took" -le "$FLASH_LIMIT_S" ] || fail "the flash over COM7 took ${took}s (more than ${FLASH_LIMIT_S}s: serial reads wait out their timeouts again?)"

step "oasis-cli.exe diagnose --port COM7 (the board runs its new firmware)"
"$WINE" "$CLI_EXE" diagnose --port COM7 --json >"$WORK/diagnose.json" || fail "diagnose exited $?"
cat "$WORK/diagnose.json"
grep -q '"normal_at_ok"' "$WORK/diagnose.json" || fail "diagnose over COM7 did not find the module answering AT"

step "oasis.exe on Xvfb: starts, stays up, screenshot"
mkdir -p "$ART"
DISP=""
for n in $(seq 121 150); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then DISP=":$n"; break; fi
done
[ -n "$DISP" ] || fail "no free X display"
Xvfb "$DISP" -screen 0 1280x860x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
sleep 1
DISPLAY=$DISP OASIS_DATA_DIR=$WORK/appdata "$WINE" "$APP_EXE" >"$WORK/app.log" 2>&1 &
APP=$!
PIDS+=($APP)
shown=""
for _ in $(seq 1 120); do
  if DISPLAY=$DISP xdotool search --name '^Oasis$' >/dev/null 2>&1; then shown=yes; break; fi
  kill -0 "$APP" 2>/dev/null || break
  sleep 0.5
done
[ -n "$shown" ] || { cat "$WORK/app.log"; fail "oasis.exe showed no window"; }
sleep 6
kill -0 "$APP" 2>/dev/null || { cat "$WORK/app.log"; fail "oasis.exe exited after showing its window"; }
DISPLAY=$DISP import -window root "$ART/oasis-windows.png"
echo "screenshot: $ART/oasis-windows.png"
grep -h 'Renderer' "$WORK"/appdata/logs/* 2>/dev/null | head -n 2 || true
kill "$APP" 2>/dev/null || true

step "all Windows checks passed"
