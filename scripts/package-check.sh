#!/usr/bin/env bash
# Publishing checks for every crate of the workspace:
#   cargo package --workspace            packs each crate and verifies it: the .crate is unpacked
#                                        and built against a local registry holding the others
#   cargo publish --workspace --dry-run  the checks of a real publish (crates.io index, dependency
#     --no-verify                        versions, metadata), everything but the upload; its
#                                        build of the same .crate files is skipped (the step
#                                        above just verified them)
# The verification builds use the `dev` profile, which nothing else here builds. To keep them
# cheap, the third-party crates get the settings the test profile gives them (opt-level 2, no
# debug info; see Cargo.toml), so `cargo test --workspace` has already compiled them, and our own
# crates (which the verification takes from the local registry, as it would from crates.io) are
# built unoptimised without debug info: the check is that they compile from their .crate, not
# how fast they run.
# The publish dry run needs network access to the crates.io index; `--offline` skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
offline=0
[ "${1-}" = "--offline" ] && offline=1
cfg=(--config 'profile.dev.package."*".opt-level=2'
     --config 'profile.dev.package."*".debug=false'
     --config 'profile.dev.debug=false')
for c in $(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"]))'); do
  cfg+=(--config "profile.dev.package.$c.opt-level=0")
done
echo "+ cargo package --workspace"
cargo package --workspace "${cfg[@]}"
if [ "$offline" -eq 0 ]; then
  echo "+ cargo publish --workspace --dry-run"
  cargo publish --workspace --dry-run --no-verify "${cfg[@]}"
fi
