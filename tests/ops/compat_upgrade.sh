#!/usr/bin/env bash
# Rolling upgrade from the previous release: builds apiaryd of TAG (default v0.1.0, cached in
# build/compat/TAG by scripts/build-release-tag), starts three nodes of it under a checked
# load and replaces them one by one with NEW_APIARYD (tests/ops/rolling.py), so the cluster
# runs both releases side by side twice (2 old + 1 new, then 1 old + 2 new) and every
# forward, replica write, read and handoff crosses versions in both directions. Nothing
# acknowledged may be lost and no read may answer "missing".
#
#   tests/ops/compat_upgrade.sh NEW_APIARYD [TAG]
#
# Exit 77 (ctest: skipped) when TAG is not in this clone.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
new="${1:?usage: compat_upgrade.sh NEW_APIARYD [TAG]}"
tag="${2:-v0.1.0}"
old="$("$here/../../scripts/build-release-tag" "$tag")"
rc=$?
if [[ $rc -ne 0 ]]; then exit "$rc"; fi
echo "rolling upgrade: $tag ($old) -> $("$new" --version) ($new)"
exec python3 "$here/rolling.py" --old-apiaryd "$old" --new-apiaryd "$new"
