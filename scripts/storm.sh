#!/usr/bin/env bash
# The storm simulation's smallest case (SCALE.md): 10 environments of 10
# items, every quota tier and pattern, in about 20 s after the build. It
# fails if an environment waited past its deadline, or if mw (through the
# extension or the SDK source) left an environment without its values.
# The full run: go -C tools run ./storm -chart SCALE.png
set -euo pipefail
cd "$(dirname "$0")/.."
exec go -C tools run ./storm -envs 10 -items 10 -horizon 10s -strict "$@"
