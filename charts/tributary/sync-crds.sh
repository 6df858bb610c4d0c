#!/usr/bin/env bash
# Copies the CRDs' source of truth (the repository's crds/*.yaml) into the chart, which can
# only read files inside itself (templates/crds/crds.yaml renders them with .Files.Get).
# Run after any change under crds/; test/chart/crds.test.ts fails while they differ.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../crds"
dst="$here/files/crds"
mkdir -p "$dst"
rm -f "$dst"/*.yaml
for f in "$src"/*.yaml; do cp "$f" "$dst/"; done
echo "sync-crds: copied $(ls "$dst" | wc -l) CRDs into $dst"
