#!/usr/bin/env bash
# The README's first steps on a fresh clone: `npm ci` builds the addon exactly once, the first
# command runs on `native` without rebuilding it, and a build killed mid-way leaves the previous
# addon (or none, with a one-line hint how to rebuild), after which a rebuild works.
#
# Usage: fresh-clone.sh [DIR]. Without DIR it clones this repository into a temporary directory;
# with DIR (CI's own fresh clone, before anything was installed there) it runs in DIR and leaves it
# installed and built.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/hafif-fresh-XXXXXX)"
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
  cd "$1"
else
  git clone -q "$src" "$work/hafif"
  cd "$work/hafif"
fi
fail() { echo "fresh-clone: FAIL: $*"; exit 1; }

t0=$(date +%s.%N)
npm ci --no-audit --no-fund --foreground-scripts > "$work/ci.log" 2>&1 || { tail -30 "$work/ci.log"; fail "npm ci"; }
t1=$(date +%s.%N)
builds=$(grep -c '^hafif: native addon built' "$work/ci.log" || true)
[ "$builds" = 1 ] || fail "npm ci built the addon $builds times, expected once"
addon=build/Release/hafif_native.node
before=$(stat -c '%i %Y' "$addon")
out=$(npm run -s hafif -- info)
t2=$(date +%s.%N)
echo "$out"
[[ "$out" == "backend native:"* ]] || fail "first command not on native: $out"
[ "$(stat -c '%i %Y' "$addon")" = "$before" ] || fail "the first command rebuilt the addon"
awk -v a="$t0" -v b="$t1" -v c="$t2" \
  'BEGIN { printf "fresh-clone: npm ci %.1f s (addon built once), first command (hafif info) %.1f s\n", b - a, c - b }'

# Killed mid-build with an addon in place: the addon is untouched, no staging copy is left.
sum=$(sha1sum "$addon")
timeout -s INT 8 npm run -s build:native > "$work/kill1.log" 2>&1 && fail "build finished within 8 s, cannot test the kill"
sleep 1
[ "$(sha1sum "$addon")" = "$sum" ] || fail "an interrupted build changed the addon"
ls build | grep -q staging && fail "an interrupted build left its staging copy"

# Killed mid-build without an addon: none appears, hafif says in one line how to rebuild.
rm "$addon"
timeout -s INT 8 npm run -s build:native > "$work/kill2.log" 2>&1 && fail "build finished within 8 s, cannot test the kill"
sleep 1
[ -e "$addon" ] && fail "an interrupted build left an addon"
node bin/hafif.js info > "$work/info.out" 2> "$work/info.err"
cat "$work/info.err"
[ "$(wc -l < "$work/info.err")" = 1 ] || fail "expected one warning line"
grep -q 'npm run build:native' "$work/info.err" || fail "the warning does not name the rebuild command"
grep -q '^backend cpu' "$work/info.out" || fail "expected the cpu backend without an addon"

# Run again: it works.
npm run -s build:native > "$work/rebuild.log" 2>&1 || { tail -30 "$work/rebuild.log"; fail "rebuild"; }
out=$(node bin/hafif.js info)
[[ "$out" == "backend native:"* ]] || fail "after the rebuild: $out"
echo "fresh-clone: ok"
