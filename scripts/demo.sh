#!/usr/bin/env bash
# Installs everything, builds lagvk and runs the main job.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build" >/dev/null
"$root/build/bin/lagvk" devices
