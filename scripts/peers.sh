#!/usr/bin/env bash
# scripts/peers.sh -- the benchmark peers beside the project (the same filter on libmilter, go-milter, pymilter and
# Sendmail::PMilter, in <shared>/peers): their packages, and building the two that compile.
#
# Sourced after scripts/install-packages.sh by build.sh (the peer tests) and bench/bench.sh (the side-by-side rows):
#   install_peer_packages        installs what the four peers need (returns 1 when some are missing)
#   build_peers SHARED           installs, then builds the libmilter and go-milter peers where they are older than their
#                                source; a peer that fails to build is named and left out (its tests skip, saying so)

PEER_PACKAGES=(libmilter-dev golang-go golang-github-emersion-go-milter-dev python3-milter libsendmail-pmilter-perl)
install_peer_packages() { install_packages "the peers' packages" "${PEER_PACKAGES[@]}"; }

build_peers() {
  local peers="$1/peers" peer source
  [ -d "$peers" ] || return 0
  install_peer_packages || say "some peers may not build or run: ${INSTALL_PACKAGES_MISSING[*]} missing"
  for peer in c-libmilter:bench-filter.c go-milter:main.go; do
    source="$peers/${peer%%:*}/${peer#*:}"
    [ -f "$source" ] || continue
    if [ "$peers/${peer%%:*}/bench-filter" -nt "$source" ]; then continue; fi
    "$peers/${peer%%:*}/build.sh" >/dev/null 2>&1 || say "the ${peer%%:*} peer did not build ($peers/${peer%%:*}/build.sh); its tests will skip"
  done
}
