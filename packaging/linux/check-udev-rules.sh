#!/usr/bin/env bash
# Syntax check of a udev rules file: `udevadm verify` where systemd has it (>= 254), else a strict
# local check of every line (key names, operators, quoting), so a broken rule never ships.
set -euo pipefail
f="${1:-$(dirname "$0")/51-oasis-qualcomm.rules}"
if udevadm verify --help >/dev/null 2>&1; then
  exec udevadm verify "$f"
fi
keys='ACTION|SUBSYSTEM|SUBSYSTEMS|KERNEL|KERNELS|DRIVER|DRIVERS|ATTR\{[A-Za-z0-9_]+\}|ATTRS\{[A-Za-z0-9_]+\}|ENV\{[A-Za-z0-9_]+\}|TAG|TAGS|GOTO|LABEL|MODE|GROUP|OWNER|RUN\{[a-z]+\}|RUN|SYMLINK|NAME'
bad=0; n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n+1))
  [[ -z "${line// }" || "$line" =~ ^[[:space:]]*# ]] && continue
  rest="$line"
  while [ -n "$rest" ]; do
    if [[ "$rest" =~ ^[[:space:]]*($keys)(==|!=|\+=|-=|:=|=)\"([^\"]*)\"[[:space:]]*(,[[:space:]]*)?(.*)$ ]]; then
      rest="${BASH_REMATCH[5]}"
    else
      echo "$f:$n: cannot parse: $rest" >&2; bad=1; break
    fi
  done
done < "$f"
for g in $(grep -o 'GOTO="[^"]*"' "$f" | sed 's/GOTO="\(.*\)"/\1/' | sort -u); do
  grep -q "LABEL=\"$g\"" "$f" || { echo "$f: GOTO target $g has no LABEL" >&2; bad=1; }
done
[ "$bad" = 0 ] && echo "$f: $((n)) lines, syntax OK"
exit "$bad"
