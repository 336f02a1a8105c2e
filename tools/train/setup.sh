#!/usr/bin/env bash
# Installs what training the multihop model needs, from Debian: PyTorch and NumPy, OpenBLAS with
# threads (Debian's torch runs about 15x faster with it), matplotlib for the loss curve and the plot.
set -euo pipefail
packages=(python3-torch python3-numpy libopenblas0-pthread python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "train setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
