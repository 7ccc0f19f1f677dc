#!/usr/bin/env bash
# build-image.sh - a minimal OCI image of the aotmilter binary, written by hand: no Docker engine, no base image.
#
#   dist/image/build-image.sh --binary artifacts/aotmilter --out artifacts/image
#                             [--archive artifacts/aotmilter-image.tar] [--revision GIT-COMMIT] [--name aotmilter]
#
# The image has one layer holding exactly:
#   /aotmilter                      the binary (the entrypoint)
#   the shared libraries it loads   what `ldd` lists plus what it loads at start-up (seen with LD_DEBUG=libs), each
#                                   copied (symlinks resolved) to the path the dynamic loader looks for it at
#   /etc/passwd, /etc/group         root, nobody and the user it runs as: aotmilter, uid/gid 10001
#   /tmp                            empty, mode 1777
# No shell, no package manager, no other file. Configuration: Entrypoint ["/aotmilter"], Cmd ["-p","inet:8890@0.0.0.0",
# "-f","log"] (a `docker run IMAGE ARGS...` replaces the Cmd), User 10001:10001, ExposedPorts 8890/tcp and the
# org.opencontainers.image.* labels. Tags: latest and the binary's version.
#
# Reproducible: the same binary and libraries give byte-identical blobs (entries sorted, mtime 0, owner 0:0,
# gzip -n, "created" is the epoch, JSON written in one fixed order).
# --out DIR is replaced (only if it is empty or already an OCI image layout). --archive FILE also writes a tarball for
# `docker load -i FILE` (and `podman load`), which needs skopeo.
# Needs: bash, coreutils, GNU tar, gzip, ldd (libc-bin); skopeo only for --archive.
set -euo pipefail
export LC_ALL=C

USER_ID=10001
USER_NAME=aotmilter
PORT=8890
DEFAULT_ARGS=(-p "inet:$PORT@0.0.0.0" -f log)

die() { echo "build-image.sh: error: $*" >&2; exit 1; }
say() { echo "build-image.sh: $*" >&2; }

binary="" out="" archive="" revision="" name=aotmilter
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --archive) archive="$2"; shift 2 ;;
    --revision) revision="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[ -n "$binary" ] && [ -f "$binary" ] || die "--binary PATH: the aotmilter executable (./build.sh publishes artifacts/aotmilter)"
[ -n "$out" ] || die "--out DIR required"
for tool in tar gzip ldd sha256sum; do command -v "$tool" >/dev/null 2>&1 || die "$tool is required"; done
if [ -n "$archive" ]; then command -v skopeo >/dev/null 2>&1 || die "--archive needs skopeo (apt-get install skopeo)"; fi
if [ -e "$out" ] && [ ! -f "$out/oci-layout" ] && [ -n "$(ls -A "$out")" ]; then
  die "$out exists and is not an OCI image layout; refusing to replace it"
fi

# The image's architecture is the binary's (ELF e_machine); the libraries come from this machine, so they must match.
case "$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' \n')" in
  3e00) arch=amd64 ;;
  b700) arch=arm64 ;;
  *) die "$binary is not an x86-64 or arm64 ELF executable" ;;
esac
case "$arch:$(uname -m)" in
  amd64:x86_64|arm64:aarch64) ;;
  *) die "$binary is $arch but this machine is $(uname -m): its libraries would not match" ;;
esac
version=$("$binary" --version 2>/dev/null | head -n1 | tr -d '\r') || die "$binary --version failed"
[[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$ ]] || die "unexpected version '$version' from $binary --version"
tag_version=${version//+/-}
[[ "$revision" =~ ^[0-9a-zA-Z._-]*$ ]] || die "--revision: a commit id expected, got '$revision'"

work=$(mktemp -d "${TMPDIR:-/tmp}/aotmilter-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"

# --- the files ---------------------------------------------------------------------------------------------------
install -m 0755 "$binary" "$root/aotmilter"

libraries() {  # the absolute paths of what the binary needs: ldd's list plus what the loader initialises at start-up
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  # `calling init: PATH` is printed for every library initialised, dlopen()ed ones included; --list-filters starts the
  # runtime and the composition root, and exits without listening.
  LD_DEBUG=libs "$binary" --list-filters 2>&1 >/dev/null | sed -n 's/^ *[0-9]*:[[:space:]]*calling init: \(\/.*\)$/\1/p'
}
mapfile -t libs < <(libraries | sort -u)
[ ${#libs[@]} -gt 0 ] || die "found no shared library for $binary (a static binary would need none, but this is unexpected)"
for lib in "${libs[@]}"; do
  [ -e "$lib" ] || die "$lib (needed by $binary) does not exist"
  # Each library's own dependencies must be in the list as well (ldd of the binary lists them transitively).
  while read -r dep; do
    # A here-string, not a pipe: under pipefail, grep -q leaving at the first match could fail printf (EPIPE).
    grep -qxF "$dep" <<< "$(printf '%s\n' "${libs[@]}")" || die "$lib needs $dep, which the binary's list lacks"
  done < <(ldd "$lib" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  mkdir -p "$root/$(dirname "${lib#/}")"
  cp -L "$lib" "$root/${lib#/}"
  chmod "$([ -x "$lib" ] && echo 0755 || echo 0644)" "$root/${lib#/}"
done

mkdir -p "$root/etc" "$root/tmp"
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
$USER_NAME:x:$USER_ID:$USER_ID:aotmilter:/nonexistent:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
$USER_NAME:x:$USER_ID:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"
find "$root" -type d -exec chmod 0755 {} +
chmod 1777 "$root/tmp"

# --- the layer: sorted, owner 0:0, mtime 0, no extended headers; gzip without name or time stamp ----------------------
(cd "$root" && tar --create --file="$work/layer.tar" --format=ustar --sort=name --mtime=@0 \
  --owner=0 --group=0 --numeric-owner --no-recursion $(find . -mindepth 1 | sed 's|^\./||' | sort))
gzip -9 -n -c "$work/layer.tar" >"$work/layer.tar.gz"

# --- the JSON documents (fixed key order, no insignificant white space) ---------------------------------------------
json_str() {  # a JSON string; the values here are versions, paths and fixed words, so only \ and " need escaping
  local s=$1
  [[ "$s" != *[[:cntrl:]]* ]] || die "control character in '$s'"
  s=${s//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}
json_array() { local first=1 a; printf '['; for a in "$@"; do [ $first = 1 ] || printf ','; first=0; json_str "$a"; done; printf ']'; }

mkdir -p "$work/layout/blobs/sha256"
digest_of() { sha256sum "$1" | cut -d' ' -f1; }
put_blob() {  # file -> blobs/sha256/<digest>; prints the digest
  local d; d=$(digest_of "$1")
  cp "$1" "$work/layout/blobs/sha256/$d"
  echo "$d"
}

diff_id=$(digest_of "$work/layer.tar")
layer_digest=$(put_blob "$work/layer.tar.gz")
layer_size=$(stat -c %s "$work/layer.tar.gz")

labels=(
  org.opencontainers.image.title "$name"
  org.opencontainers.image.description "Mail filter (milter) daemon for Postfix and Sendmail, Native AOT, filters compiled in"
  org.opencontainers.image.version "$version"
)
[ -z "$revision" ] || labels+=(org.opencontainers.image.revision "$revision")
labels_json=$(
  i=0; printf '{'
  while [ $i -lt ${#labels[@]} ]; do
    [ $i = 0 ] || printf ','
    json_str "${labels[$i]}"; printf ':'; json_str "${labels[$((i + 1))]}"
    i=$((i + 2))
  done
  printf '}'
)

printf '{"architecture":%s,"config":{"Cmd":%s,"Entrypoint":%s,"ExposedPorts":{"%s/tcp":{}},"Labels":%s,"User":"%s:%s","WorkingDir":"/"},"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z","created_by":%s}],"os":"linux","rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}}' \
  "$(json_str "$arch")" "$(json_array "${DEFAULT_ARGS[@]}")" "$(json_array "/$name")" "$PORT" "$labels_json" \
  "$USER_ID" "$USER_ID" "$(json_str "dist/image/build-image.sh ($name $version)")" "$diff_id" >"$work/config.json"
config_digest=$(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
  "$config_digest" "$(stat -c %s "$work/config.json")" "$layer_digest" "$layer_size" >"$work/manifest.json"
manifest_digest=$(put_blob "$work/manifest.json")
manifest_size=$(stat -c %s "$work/manifest.json")

ref() { printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"platform":{"architecture":%s,"os":"linux"},"annotations":{"org.opencontainers.image.ref.name":%s}}' \
  "$manifest_digest" "$manifest_size" "$(json_str "$arch")" "$(json_str "$1")"; }
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' \
  "$(ref latest)" "$(ref "$tag_version")" >"$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"

# --- publish: replace --out in one step, so a reader never sees half a layout ----------------------------------------
rm -rf "$out.new"
cp -r "$work/layout" "$out.new"
rm -rf "$out"
mv "$out.new" "$out"

if command -v skopeo >/dev/null 2>&1; then
  skopeo inspect --raw "oci:$out:latest" >/dev/null || die "skopeo does not accept the layout in $out"
fi
if [ -n "$archive" ]; then
  rm -f "$archive"
  skopeo copy --quiet --additional-tag "$name:$tag_version" "oci:$out:latest" "docker-archive:$archive:$name:latest"
fi

# --- report ----------------------------------------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
total=$(du -cb "$out"/blobs/sha256/* | tail -n1 | cut -f1)
tar_size=$(stat -c %s "$work/layer.tar")
say "image $out ($name:latest, $name:$tag_version, $arch), manifest sha256:$manifest_digest"
(cd "$root" && find . -mindepth 1 ! -type d | sed 's|^\.||' | sort | while read -r f; do
  printf '  %-42s %9d bytes\n' "$f" "$(stat -c %s "$root$f")"
done) >&2
echo "image size: $layer_size bytes compressed ($(mib "$layer_size")), layer $tar_size bytes uncompressed ($(mib "$tar_size")), layout $total bytes in all blobs"
if [ -n "$archive" ]; then
  echo "docker archive: $archive ($(stat -c %s "$archive") bytes): docker load -i $archive"
fi
