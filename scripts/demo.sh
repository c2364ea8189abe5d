#!/usr/bin/env bash
# The README's first command: set up classmood in .venv (if needed) and analyse the bundled
# sample class video, writing the annotated mp4 and the per-frame table to ./classmood-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q -e .
classmood models --no-speed
classmood analyze src/classmood/assets/sample_class.mp4 --out classmood-demo "$@"
echo "open classmood-demo/sample_class.annotated.mp4 to see the result"
