#!/usr/bin/env bash
# scripts/install-packages.sh -- installs Debian packages the build, the tests and the benchmark need.
#
# Sourced by build.sh, bench/bench.sh, bench/soak.sh and fuzz/fuzz.sh, which call
#   install_packages WHAT PACKAGE...
# WHAT names the packages in messages ("test prerequisites", "the peers' packages"). Packages dpkg already has are
# left alone. Returns 0 when every package is installed afterwards; 1 when some are missing and this is not root
# (after naming the apt-get command to run as root) or apt-get failed. Messages go through the caller's say().
#
# Run directly, it does the same for one list:
#   scripts/install-packages.sh WHAT PACKAGE...
# and says so when everything is already installed (nothing is changed then, and root is not needed).

# Set once apt-get update ran in this process: a second update would only cost time.
INSTALL_PACKAGES_APT_UPDATED=0
# The packages the last install_packages call found missing, for the caller's own error message.
INSTALL_PACKAGES_MISSING=()

# package_installed PACKAGE: true when dpkg has it installed. No pipe into `grep -q`: under pipefail an early exit
# of grep could turn an installed package into a missing one.
package_installed() {
  case "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" in
    *" ok installed") return 0 ;;
    *) return 1 ;;
  esac
}

install_packages() {
  local what=$1; shift
  local need=() p
  for p in "$@"; do
    package_installed "$p" || need+=("$p")
  done
  INSTALL_PACKAGES_MISSING=("${need[@]}")
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    say "not root: cannot install $what (${need[*]}); run as root: apt-get install -y --no-install-recommends ${need[*]}"
    return 1
  fi
  say "installing $what: ${need[*]}"
  for p in "${need[@]}"; do
    if [ "$p" = postfix ]; then
      # Postfix must not ask questions or configure a system instance: the tests run their own. Without this answer
      # the package would set up and start a system Postfix on port 25.
      echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \
        || { say "could not preseed postfix's debconf answer (debconf-set-selections failed); not installing $what"; return 1; }
    fi
  done
  if [ "$INSTALL_PACKAGES_APT_UPDATED" = 0 ]; then
    # Try the package lists as they are first: an apt-get update is slow and usually not needed.
    if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1; then return 0; fi
    local update
    if ! update=$(apt-get update -qq 2>&1); then
      say "apt-get update failed, so $what cannot be installed (${need[*]}):"
      printf '%s\n' "$update" >&2
      return 1
    fi
    INSTALL_PACKAGES_APT_UPDATED=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; then
    say "apt-get could not install $what: ${need[*]}"
    return 1
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  say() { echo "install-packages.sh: $*" >&2; }
  [ $# -ge 2 ] || { echo "usage: $0 WHAT PACKAGE..." >&2; exit 2; }
  missing=0
  for package in "${@:2}"; do package_installed "$package" || missing=1; done
  if [ "$missing" = 0 ]; then
    say "$1 already installed: ${*:2}"
    exit 0
  fi
  install_packages "$@" || exit 1
  say "$1 installed: ${*:2}"
fi
