#!/usr/bin/env bash
# Installs what training the multihop model needs, from Debian: PyTorch and NumPy, OpenBLAS with
# threads (Debian's torch runs about 15x faster with it), matplotlib for the loss curve and the plot.
set -euo pipefail
packages=(python3-torch python3-numpy libopenblas0-pthread python3-matplotlib)
"$(dirname "$0")/../../scripts/install_packages.sh" "${packages[@]}"
