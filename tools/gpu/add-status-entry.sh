#!/usr/bin/env bash
# Puts the entry that tools/gpu-check.sh wrote (gpu-status-entry.md, from the device call's $OUT)
# into docs/gpu-status.md, newest first: right below the line "---" that ends the how-to.
#   tools/gpu/add-status-entry.sh PATH/gpu-status-entry.md
set -euo pipefail
cd "$(dirname "$0")/../.."
entry=${1:?usage: tools/gpu/add-status-entry.sh PATH/gpu-status-entry.md}
[[ -s $entry ]] || { echo "add-status-entry: $entry is empty or missing" >&2; exit 1; }
doc=docs/gpu-status.md
grep -qx -- '---' "$doc" || { echo "add-status-entry: no '---' line in $doc" >&2; exit 1; }
tmp=$(mktemp)
awk -v entry="$entry" '
  { print }
  $0 == "---" && !done { print ""; while ((getline line < entry) > 0) print line; done = 1 }
' "$doc" >"$tmp"
mv "$tmp" "$doc"
echo "add-status-entry: added $(head -1 "$entry" | sed 's/^## //') to $doc"
