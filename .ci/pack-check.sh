#!/usr/bin/env bash
# The npm tarball carries a prebuilt linux addon: installed where no compiler can be found
# (CXX=/bin/false, CC=/bin/false, a PATH holding only node and npm), hafif runs on `native`
# without compiling anything, the binary needs no libopenblas, and a corrupt binary gives the
# one-line warning and the cpu backend.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/hafif-pack-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "pack-check: FAIL: $*"; exit 1; }

cd "$src"
npm pack --pack-destination "$work" > "$work/pack.log" 2>&1 || { tail -30 "$work/pack.log"; fail "npm pack"; }
tarball=$(ls "$work"/hafif-*.tgz)
tar -tzf "$tarball" | grep -E '^package/prebuilds/' || fail "no prebuilt addon in the tarball"

# A PATH without compilers, make or python: only node and npm.
mkdir -p "$work/bin" "$work/app"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(command -v npm)" "$work/bin/npm"
ln -s "$(command -v npx)" "$work/bin/npx"
ln -s /bin/sh "$work/bin/sh"
ln -s "$(command -v env)" "$work/bin/env"
for tool in g++ c++ gcc cc make python3; do
  PATH="$work/bin" command -v "$tool" >/dev/null 2>&1 && fail "$tool is still on the PATH"
done
cd "$work/app"
echo '{"name": "app", "version": "1.0.0", "private": true}' > package.json
env PATH="$work/bin" CXX=/bin/false CC=/bin/false npm install --no-audit --no-fund --foreground-scripts "$tarball" \
  > "$work/install.log" 2>&1 || { tail -30 "$work/install.log"; fail "npm install of the tarball"; }
grep 'hafif: ' "$work/install.log" || true
grep -q 'gyp info' "$work/install.log" && fail "the install compiled the addon"
out=$(env PATH="$work/bin" npx hafif info)
echo "$out"
[[ "$out" == "backend native: "*"/prebuilds/"* ]] || fail "hafif does not run on the prebuilt native addon"
prebuilt=$(ls node_modules/hafif/prebuilds/*/*.node)
ldd "$prebuilt" | grep -q openblas && fail "the prebuilt addon needs libopenblas"
ls -la "$prebuilt"

# A truncated binary: one warning line, the cpu backend, exit code 0.
head -c 100000 "$prebuilt" > "$work/trunc" && mv "$work/trunc" "$prebuilt"
env PATH="$work/bin" npx hafif info > "$work/info.out" 2> "$work/info.err" || fail "hafif info exited $? with a corrupt addon"
cat "$work/info.err" "$work/info.out"
[ "$(wc -l < "$work/info.err")" = 1 ] || fail "expected one warning line"
grep -q 'npm rebuild hafif' "$work/info.err" || fail "the warning does not name the rebuild command"
grep -q '^backend cpu' "$work/info.out" || fail "expected the cpu backend"
echo "pack-check: ok"
