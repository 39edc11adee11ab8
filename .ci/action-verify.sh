#!/usr/bin/env bash
# action.yml's verify step: GitHub annotations for broken anchors, the full report in the job summary.
set -euo pipefail
args=(--format github)
if [ -n "${ANNOTATE_UPSTREAM:-}" ]; then args+=(--upstream "$ANNOTATE_UPSTREAM"); fi
read -r -a paths <<< "${ANNOTATE_PATHS:-}"
exec annotate verify "${args[@]}" "${paths[@]}"
