#!/usr/bin/env bash
# AotMilter build script.
#   ./build.sh            restore, build (Release, zero warnings), publish artifacts/aotmilter (Native AOT, linux-x64)
#   ./build.sh run [-- ARGS]   build if needed, then run aotmilter in the foreground (default socket and filters,
#                         or ARGS), after printing the lines to paste into Postfix's main.cf
#   ./build.sh test       build, install what the end-to-end tests need (Postfix, Sendmail's packages, runc, umoci,
#                         the scanners), pack (the template test builds a milter from the packages), build the
#                         benchmark peers when ../shared is beside the project, run every test suite; ends with
#                         "N passed, N failed, N skipped"
#   ./build.sh pack       build, then write the NuGet packages (AotMilter, AotMilter.Hosting, AotMilter.Filters,
#                         AotMilter.Testing, what they depend on, AotMilter.Templates) to artifacts/packages
#   ./build.sh image      build if needed, then write the minimal OCI image to artifacts/image (and, with skopeo,
#                         artifacts/aotmilter-image.tar for docker/podman load); prints the image size
#   ./build.sh bench      build, then benchmark aotmilter side by side with libmilter, go-milter, pymilter and the null
#                         milter (../shared, as in CI; installs the peers' packages as root) or alone without it;
#                         writes bench/results/<date>-<host>.md (see bench/bench.sh)
#   ./build.sh fuzz [TARGET] [MINUTES]   fuzz with afl++ and SharpFuzz (installs both): TARGET frames, mime, config or
#                         all (default), MINUTES each (default 20); writes fuzz/results/<date>-<host>-fuzz.md (fuzz/fuzz.sh)
#   ./build.sh soak [MINUTES]  build if needed, then run the daemon under steady moderate load for MINUTES (default 60)
#                         sampling its memory; writes bench/results/<date>-<host>-soak.md, PASS or FAIL (see bench/soak.sh)
#   ./build.sh clean      remove build output
# A fresh Debian machine needs only the .NET SDK (10.0, the feature band global.json names or a later one): the rest is
# installed here (as root) or named exactly.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")" && pwd)"
cd "$ROOT"
ARTIFACTS="$ROOT/artifacts"
BINARY="$ARTIFACTS/aotmilter"
RID=linux-x64
MAX_BINARY_BYTES=$((8 * 1024 * 1024))
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { echo "build.sh: $*" >&2; }
die() { echo "build.sh: error: $*" >&2; exit 1; }

# install_packages WHAT PACKAGE...: shared with bench/bench.sh.
. "$ROOT/scripts/install-packages.sh"
# build_peers SHARED: the benchmark peers the peer tests start, when the shared directory is beside the project.
. "$ROOT/scripts/peers.sh"

# global.json pins the SDK's feature band; `dotnet --version` fails (listing the installed SDKs) when none matches.
require_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK $(sdk_wanted) is required: https://dot.net (dotnet-install.sh --channel 10.0)"
  if ! dotnet --version >/dev/null 2>&1; then
    die "no installed .NET SDK matches global.json, which asks for $(sdk_wanted); installed: $(dotnet --list-sdks 2>/dev/null | cut -d' ' -f1 | paste -sd, - | sed 's/,/, /g; s/^$/none/'). Install one from https://dot.net (dotnet-install.sh --channel 10.0)"
  fi
}

sdk_wanted() {
  local version roll
  version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$ROOT/global.json")
  roll=$(sed -n 's/.*"rollForward": *"\([^"]*\)".*/\1/p' "$ROOT/global.json")
  echo "${version:-?} (rollForward ${roll:-?})"
}

# Native AOT links with the system C toolchain (zlib comes statically from the runtime pack: no libz needed).
require_native_toolchain() {
  if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1; then return 0; fi
  install_packages "a C compiler and linker for Native AOT" gcc || die "Native AOT needs a C compiler and linker: apt-get install gcc"
}

# Packages the end-to-end tests use: Postfix (smtpd, smtp-sink), what Sendmail's unpacked binaries need, runc and
# umoci to run the container image, and Redis and HAProxy for the shared stores and several daemons.
# Sendmail itself is not installed (it conflicts with Postfix): the tests unpack its .debs into a cache.
# The scanning filters' tests start their own clamd, spamd and rspamd (offline: private configuration, no updates).
TEST_PACKAGES=(postfix m4 libwrap0 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 util-linux systemd runc umoci
  clamav-daemon spamd spamassassin rspamd redis-server redis-tools haproxy)
ensure_test_packages() {
  install_packages "test prerequisites" "${TEST_PACKAGES[@]}" || die "the end-to-end tests need: ${INSTALL_PACKAGES_MISSING[*]}"
  [ -x /usr/sbin/postfix ] && [ -x /usr/sbin/smtp-sink ] \
    || die "the postfix package is installed but /usr/sbin/postfix or /usr/sbin/smtp-sink is missing: apt-get install --reinstall postfix"
}

# A project the solution does not list is built only where another references it and its tests never run: name it.
# fuzz/ (built by fuzz.sh with its own settings) and the templates' content (built where the template is used) are
# outside on purpose.
check_solution() {
  local listed project missing=()
  listed=$(dotnet sln AotMilter.sln list) || die "cannot list the projects of AotMilter.sln"
  while IFS= read -r project; do
    grep -qxF "$project" <<< "$listed" || missing+=("$project")
  done < <(find . \( -name .git -o -name bin -o -name obj -o -path ./artifacts -o -path ./fuzz -o -path ./templates/content \) -prune \
             -o -name '*.csproj' -print | sed 's|^\./||' | sort)
  [ ${#missing[@]} -eq 0 ] \
    || die "not in AotMilter.sln, so neither built with the rest nor tested: ${missing[*]} (dotnet sln AotMilter.sln add PATH)"
}

do_build() {
  require_dotnet
  require_native_toolchain
  check_solution
  say "restoring and building (Release)"
  dotnet build AotMilter.sln -c Release -warnaserror -nologo -clp:NoSummary -v:minimal
  say "publishing $RID Native AOT binary"
  local log="$ARTIFACTS/publish.log"
  mkdir -p "$ARTIFACTS"
  if ! dotnet publish src/aotmilter/aotmilter.csproj -c Release -r "$RID" -o "$ARTIFACTS/publish" -nologo -v:minimal >"$log" 2>&1; then
    cat "$log" >&2
    die "publish failed"
  fi
  if grep -E "warning (IL|CS|AOT|NU)[0-9]+" "$log" >/dev/null; then
    grep -E "warning (IL|CS|AOT|NU)[0-9]+" "$log" | sort -u >&2
    die "publish produced warnings (trim/AOT analysis must be clean)"
  fi
  cp "$ARTIFACTS/publish/aotmilter" "$BINARY"
  local size; size=$(stat -c %s "$BINARY")
  say "built $BINARY: $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
  [ "$size" -lt "$MAX_BINARY_BYTES" ] || die "binary is $size bytes; the limit is $MAX_BINARY_BYTES"
}

# Any source or project file anywhere in the tree counts (a filter project may live in a folder of its own), so run,
# image and soak never use a binary older than the code.
needs_build() {
  [ -x "$BINARY" ] || return 0
  [ -n "$(find . \( -name .git -o -name obj -o -name bin -o -path ./artifacts \) -prune -o -newer "$BINARY" -type f \
        \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.sln' -o -name global.json \) \
        -print -quit)" ]
}

do_run() {
  needs_build && do_build
  local args=("$@")
  if [ ${#args[@]} -eq 0 ]; then
    local sock
    if [ "$(id -u)" = 0 ]; then sock=/run/aotmilter/aotmilter.sock; else sock="$ARTIFACTS/run/aotmilter.sock"; mkdir -p "$ARTIFACTS/run"; fi
    args=(-p "unix:$sock" -f log)
    # As root the daemon drops to an unprivileged user once its socket is bound.
    if [ "$(id -u)" = 0 ]; then args+=(-u nobody); fi
    # The daemon prints the MTA lines itself (--print-config), so they match its socket, filters and timeouts.
    echo "Postfix: add to main.cf, then 'postfix reload':"
    "$BINARY" "${args[@]}" --print-config postfix | sed 's/^/    /'
    echo "Sendmail: add to sendmail.mc, then rebuild sendmail.cf:"
    "$BINARY" "${args[@]}" --print-config sendmail | sed 's/^/    /'
    echo "Stop with Ctrl-C."
  fi
  exec "$BINARY" "${args[@]}"
}

# The container image: artifacts/image (an OCI image layout, written by dist/image/build-image.sh without a Docker
# engine) and, where skopeo is installed or installable, artifacts/aotmilter-image.tar for `docker load`.
do_image() {
  needs_build && do_build
  local archive=()
  if command -v skopeo >/dev/null 2>&1 || install_packages "what the docker-archive tarball needs" skopeo; then
    archive=(--archive "$ARTIFACTS/aotmilter-image.tar")
  else
    rm -f "$ARTIFACTS/aotmilter-image.tar"
    say "skopeo is not available: writing the OCI layout only, no artifacts/aotmilter-image.tar (apt-get install skopeo)"
  fi
  local revision=""
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    revision=$(git -C "$ROOT" rev-parse HEAD) || die "cannot read the commit for the image's revision label (git rev-parse HEAD failed)"
  else
    say "not a git checkout (or git is missing): the image gets no revision label"
  fi
  say "writing the container image"
  dist/image/build-image.sh --binary "$BINARY" --out "$ARTIFACTS/image" --revision "$revision" "${archive[@]}"
}

# The packages of this build only: a package left from an older version would be a second candidate.
do_pack() {
  say "packing into artifacts/packages"
  rm -rf "$ARTIFACTS/packages"
  local log="$ARTIFACTS/pack.log"
  if ! dotnet pack AotMilter.sln -c Release --no-build -o "$ARTIFACTS/packages" -nologo -v:minimal >"$log" 2>&1; then
    cat "$log" >&2
    die "pack failed"
  fi
  say "packed: $(cd "$ARTIFACTS/packages" && ls -- *.nupkg | paste -sd' ' -)"
}

do_test() {
  do_build
  do_pack
  ensure_test_packages
  build_peers "$ROOT/../shared"
  local log="$ARTIFACTS/test.log"
  say "running tests"
  set +e
  dotnet test AotMilter.sln -c Release --no-build -nologo -v:minimal 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  # dotnet test prints one summary per test assembly; CI reads one plain line for the whole run.
  awk '
    /(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+/ {
      line=$0; gsub(/,/, "", line); n=split(line, w, /[ \t]+/)
      for (i=1;i<n;i++) { if (w[i]=="Failed:") f+=w[i+1]; if (w[i]=="Passed:") p+=w[i+1]; if (w[i]=="Skipped:") s+=w[i+1] }
    }
    END { printf "%d passed, %d failed, %d skipped\n", p, f, s; if (p == 0) exit 1 }' "$log" || { say "no test ran"; rc=1; }
  return "$rc"
}

cmd="${1:-build}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build) do_build ;;
  run) [ "${1:-}" = "--" ] && shift; do_run "$@" ;;
  test) do_test ;;
  pack) do_build; do_pack ;;
  image) do_image ;;
  bench) do_build; exec "$ROOT/bench/bench.sh" ;;
  fuzz) require_dotnet; exec "$ROOT/fuzz/fuzz.sh" "$@" ;;
  soak) needs_build && do_build; exec "$ROOT/bench/soak.sh" "$@" ;;
  clean) rm -rf "$ARTIFACTS"; find . -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + ;;
  -h|--help|help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (build, run, test, pack, image, bench, fuzz, soak, clean)" ;;
esac
