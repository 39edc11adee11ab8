#!/usr/bin/env bash
# action.yml's fetch step: materialise the pinned tree when a pin is configured and the tree is missing.
set -euo pipefail
tree="${ANNOTATE_UPSTREAM:-upstream}"
if [ -d "$tree" ]; then
    echo "annotate: $tree is there; nothing to fetch"
elif [ -f annotate.toml ] || [ -f .annotate.toml ] || [ -f UPSTREAM_PIN.toml ]; then
    annotate fetch
else
    echo "annotate: no pin configured and no $tree; verify will say how to make it"
fi
