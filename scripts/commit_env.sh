#!/usr/bin/env bash
# commit_env.sh COMMIT DIR: a scratch build of COMMIT for scripts/bench_core_ab.py --before.
#
# DIR becomes a detached git worktree of COMMIT with a light venv (DIR/.venv) that imports
# fanns_bench from DIR and every dependency from this checkout's Python (PYTHON, default
# .venv/bin/python; nothing is downloaded but the build requirements pip wheel asks for), with
# the commit's own compiled core (pip wheel, 3-5 minutes) and its own entry points (that
# commit's method registry). Then: scripts/bench_core_ab.py --before DIR/.venv/bin/python
# Remove it with: git worktree remove --force DIR
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 COMMIT DIR" >&2
  exit 2
fi
commit=$1
dir=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
if [ -e "$dir" ]; then
  echo "$dir: already exists; remove it first (git worktree remove --force $dir)" >&2
  exit 2
fi
git -C "$repo" worktree add --detach "$dir" "$commit"
"$python" -m venv --without-pip "$dir/.venv"
own=$("$dir/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# the commit's package first, then the folders this checkout's Python takes its packages from
# (listed in a .pth, their own .pth files are not run: no editable install shadows DIR)
deps=$("$python" -c 'import sys; print("\n".join(p for p in sys.path if p.endswith("-packages")))')
printf '%s\n%s\n' "$dir" "$deps" > "$own/zz_commit_env.pth"
wheel=$(mktemp -d)
trap 'rm -rf "$wheel"' EXIT
(cd "$dir" && "$python" -m pip wheel . --no-deps -w "$wheel" -q)
unzip -q -o -j "$wheel"/*.whl 'fanns_bench/_core*.so' -d "$dir/fanns_bench/"
unzip -q -o "$wheel"/*.whl 'fanns_bench-*.dist-info/*' -d "$own"  # the commit's entry points
echo "$dir/.venv/bin/python: fanns_bench from $dir ($(git -C "$dir" rev-parse --short HEAD))"
