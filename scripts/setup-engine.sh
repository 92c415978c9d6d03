#!/usr/bin/env bash
# Prepare what xbuild's container and emulation tests need on this machine:
#   1. a running Docker engine (Debian's docker.io, started by hand when there is no systemd),
#   2. qemu-user emulation for aarch64, registered with binfmt_misc's F flag,
#   3. base images made with debootstrap + `docker load` (no container registry is needed),
#   4. the build images defined in images/ (images/images.toml + one Dockerfile per policy),
#   5. a short summary.
#
# Idempotent: every step checks first and does nothing when its result is already there, so a
# second run takes about a second. Safe to call from .ci/run on a clean machine (~6 min cold on
# 2 cores, dominated by the arm64 debootstrap under qemu) and by developers.
#
# Environment:
#   XBUILD_IMAGES         which local images to build, by key (default: all local images in
#                         images/images.toml: "bullseye-amd64 bullseye-arm64 bookworm-amd64");
#                         set it empty to only set up the engine and qemu.
#   XBUILD_DEBIAN_MIRROR  debootstrap mirror (default: the one apt is configured with).
#   XBUILD_DOCKERD_FLAGS  flags for dockerd when this script starts it (default: try plain
#                         dockerd, then the sandbox fallbacks below).
# Logs: /var/log/xbuild-dockerd.log, /var/log/xbuild-setup-*.log.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES_DIR=$REPO_ROOT/images
IMAGES_TOML=$IMAGES_DIR/images.toml
WORK_ROOT=/var/cache/xbuild-debootstrap
LOG_DIR=/var/log
DOCKERD_LOG=$LOG_DIR/xbuild-dockerd.log
APT_LOG=$LOG_DIR/xbuild-setup-apt.log
BINFMT=/proc/sys/fs/binfmt_misc
START=$SECONDS

log() { printf '[setup-engine %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# Everything below needs root except talking to an engine the user may already use. Developers
# without root get sudo for the privileged commands instead of having to re-run the whole script.
if [[ $EUID -eq 0 ]]; then
  as_root() { "$@"; }
elif command -v sudo >/dev/null; then
  as_root() { sudo -- "$@"; }
  # Our own logs go where the user can write; dockerd's log is written by the root shell.
  LOG_DIR=${TMPDIR:-/tmp}; APT_LOG=$LOG_DIR/xbuild-setup-apt.log
else
  # Fail only if something privileged is actually needed: a warm run works without root.
  as_root() { die "needs root: $* (run as root, or install sudo)"; }
fi

# Two concurrent runs (CI retry, a developer in two shells) would race on apt, dockerd and the
# debootstrap work dirs; serialize them.
exec 9>"${TMPDIR:-/tmp}/xbuild-setup-engine.lock"
if ! flock -n 9; then
  log "waiting for another setup-engine run to finish"
  flock 9
fi

# ---------------------------------------------------------------------------------------------
# apt: install only what is missing; `apt-get update` only when the lists are absent, do not
# know a package, or an install fails (stale lists pointing at removed .debs).
APT_UPDATED=0
apt_update() {
  [[ $APT_UPDATED -eq 1 ]] && return 0
  as_root apt-get update -q >>"$APT_LOG" 2>&1 || die "apt-get update failed, see $APT_LOG"
  APT_UPDATED=1
}
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || { apt_update; break; }
  done
  local cmd=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends)
  if ! as_root "${cmd[@]}" "${missing[@]}" >>"$APT_LOG" 2>&1; then
    [[ $APT_UPDATED -eq 1 ]] && die "apt-get install ${missing[*]} failed, see $APT_LOG"
    apt_update
    as_root "${cmd[@]}" "${missing[@]}" >>"$APT_LOG" 2>&1 \
      || die "apt-get install ${missing[*]} failed, see $APT_LOG"
  fi
  INSTALLED+=("${missing[@]}")
}
INSTALLED=()

# ---------------------------------------------------------------------------------------------
# 1. Docker engine.
# The client may be newer than Debian's dockerd (here /usr/local/bin/docker 28.x against
# dockerd 20.10, API 1.41): that is fine, the client and docker-py negotiate the API version.
DOCKER=(docker)
dk() { "${DOCKER[@]}" "$@"; }
# `timeout`: a wedged daemon must not hang CI for the whole budget.
docker_ok() { timeout 20 "${DOCKER[@]}" info >/dev/null 2>&1; }

# Start dockerd detached (setsid + nohup: it must outlive this script and the CI step) and wait
# for it. Returns non-zero when this flag set does not work, so the caller can try the next.
start_dockerd() {
  local pid
  printf '\n==== %s: dockerd %s\n' "$(date -u +%FT%TZ)" "$*" | as_root tee -a "$DOCKERD_LOG" >/dev/null
  # Redirections happen in the root shell (a developer's shell cannot write the log). `9>&-`:
  # dockerd must not inherit the lock below, or it would hold it for as long as it runs. As
  # root, a plain command (not the as_root function, which would add a subshell) makes $! the
  # dockerd pid itself; via sudo it is sudo's pid, which relays signals.
  local -a pre=()
  [[ $EUID -eq 0 ]] || pre=(sudo --)
  # shellcheck disable=SC2016  # $0/$@ are expanded by the inner sh, on purpose
  "${pre[@]}" sh -c 'exec setsid nohup dockerd "$@" </dev/null >>"$0" 2>&1' "$DOCKERD_LOG" "$@" 9>&- &
  pid=$!
  for _ in $(seq 60); do
    docker_ok && return 0
    # The daemon exits within a second or two on storage-driver / iptables / cgroup errors.
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  # Alive but never answering: stop it (only this pid, which we started) and report failure.
  as_root kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

setup_docker() {
  local t0=$SECONDS
  if docker_ok; then
    log "docker: engine already running ($(dk version -f '{{.Server.Version}}' 2>/dev/null))"
    return 0
  fi
  # A developer not in the docker group: the engine runs, the socket is just root's.
  if [[ $EUID -ne 0 ]] && as_root docker info >/dev/null 2>&1; then
    DOCKER=(sudo docker)
    log "docker: engine running, using it through sudo (add yourself to the docker group)"
    return 0
  fi
  # Do not install docker.io over an existing docker-ce: the packages conflict.
  command -v dockerd >/dev/null || apt_install docker.io
  if [[ -d /run/systemd/system ]] && as_root systemctl start docker >/dev/null 2>&1; then
    for _ in $(seq 60); do docker_ok && break; sleep 1; done
  fi
  if docker_ok; then
    log "docker: started docker.service in $((SECONDS - t0))s"
    return 0
  fi
  # No systemd (containers, CI sandboxes): run dockerd ourselves. A dockerd still starting
  # from an earlier call owns the pid file; wait for it instead of starting a second one.
  if [[ -s /var/run/docker.pid ]] && as_root kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    for _ in $(seq 60); do docker_ok && break; sleep 1; done
    docker_ok && { log "docker: waited for the running dockerd ($((SECONDS - t0))s)"; return 0; }
    die "a dockerd (pid $(cat /var/run/docker.pid)) runs but does not answer; see $DOCKERD_LOG"
  fi
  # Plain dockerd first (overlay2 + iptables NAT, the real thing); then the usual sandbox
  # fallbacks: no iptables (no netfilter in the kernel/namespace; containers then get no
  # outbound NAT, which xbuild does not need: builds run with --network none) and vfs (no
  # overlayfs, e.g. /var/lib/docker on overlayfs itself; slower and bigger, but works anywhere).
  local -a attempts
  if [[ -n ${XBUILD_DOCKERD_FLAGS:-} ]]; then
    attempts=("$XBUILD_DOCKERD_FLAGS")
  else
    attempts=("" "--iptables=false" "--storage-driver=vfs" "--iptables=false --storage-driver=vfs")
  fi
  local flags
  for flags in "${attempts[@]}"; do
    # shellcheck disable=SC2086  # flags are words on purpose
    if start_dockerd $flags; then
      log "docker: started dockerd ${flags:-(default flags)} in $((SECONDS - t0))s, log $DOCKERD_LOG"
      return 0
    fi
  done
  die "dockerd did not start with any of: $(printf '[%s] ' "${attempts[@]}")- see $DOCKERD_LOG"
}

# ---------------------------------------------------------------------------------------------
# 2. qemu-user for aarch64 via binfmt_misc.
# The F ("fix binary") flag makes the kernel open the interpreter at registration time, so it
# also works inside containers whose root fs has no qemu binary (Debian ships OPF; older
# configs or binfmt-support may register without F, which breaks `docker run --platform`).
# A 132-byte static aarch64 ELF that just calls exit(42): proves emulation without any image.
AARCH64_EXIT42=f0VMRgIBAQAAAAAAAAAAAAIAtwABAAAAeABAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAOAABAAAAAAAAAAEAAAAFAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAhAAAAAAAAACEAAAAAAAAAAAQAAAAAAAAQAWA0qgLgNIBAADU
QEMU_CONF=/usr/lib/binfmt.d/qemu-aarch64.conf
# Same line as Debian's qemu-user-static 7.2 ships, for hosts whose package lacks binfmt.d.
QEMU_LINE_FALLBACK=':qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:OCF'

aarch64_runs() {
  local dir rc=0
  dir=$(mktemp -d)
  base64 -d <<<"$AARCH64_EXIT42" >"$dir/exit42"
  chmod +x "$dir/exit42"
  "$dir/exit42" 2>/dev/null || rc=$?
  rm -rf "$dir"
  [[ $rc -eq 42 ]]
}

setup_qemu() {
  local entry=$BINFMT/qemu-aarch64 did=()
  # Installed even when some other qemu is registered: the F-flag registration below, and
  # debootstrap --arch=arm64, rely on Debian's static binary.
  [[ -x /usr/bin/qemu-aarch64-static ]] || { apt_install qemu-user-static; did+=("installed qemu-user-static"); }
  if [[ ! -e $BINFMT/register ]]; then
    as_root mount -t binfmt_misc binfmt_misc "$BINFMT"
    did+=("mounted $BINFMT")
  fi
  if [[ -e $entry ]] && ! grep -q '^flags:.*F' "$entry"; then
    as_root sh -c "echo -1 > '$entry'"   # unregister, re-added with F below
    did+=("dropped registration without F")
  fi
  if [[ ! -e $entry ]]; then
    local line
    if [[ -r $QEMU_CONF ]]; then
      line=$(grep -v '^[[:space:]]*\(#\|$\)' "$QEMU_CONF" | head -n1)
    else
      line=$QEMU_LINE_FALLBACK
    fi
    [[ ${line##*:} == *F* ]] || line+=F
    printf '%s' "$line" | as_root tee "$BINFMT/register" >/dev/null
    did+=("registered qemu-aarch64 (flags ${line##*:})")
  fi
  if [[ $(head -n1 "$entry") != enabled ]]; then
    as_root sh -c "echo 1 > '$entry'"
    did+=("enabled qemu-aarch64")
  fi
  aarch64_runs || die "qemu-aarch64 is registered but a static aarch64 binary does not run; see $entry"
  if [[ ${#did[@]} -eq 0 ]]; then
    log "qemu: aarch64 binfmt already registered ($(grep '^flags' "$entry")), static aarch64 test ok"
  else
    log "qemu: $(printf '%s; ' "${did[@]}")static aarch64 test ok"
  fi
}

# ---------------------------------------------------------------------------------------------
# images.toml is the single source of truth for the images; bash cannot read TOML, so a few
# lines of Python (tomllib: 3.11+, which Debian bookworm's python3 and the repo venv have) turn
# it into tab-separated rows. Rows: key, image, base, suite, debian_arch, platform, context,
# machine, glibc, python, policy, variant, include (comma-separated).
python_bin() {
  local py
  for py in python3 "$REPO_ROOT/.venv/bin/python"; do
    if command -v "$py" >/dev/null && "$py" -c 'import tomllib' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  die "need a Python >= 3.11 (tomllib) to read $IMAGES_TOML"
}

plan_images() {
  "$(python_bin)" - "$IMAGES_TOML" "${XBUILD_IMAGES-__all__}" <<'PY'
import sys, tomllib
data = tomllib.load(open(sys.argv[1], "rb"))
bases = {b["name"]: b for b in data["base"]}
local = {i["name"].split(":", 1)[1]: i for i in data["image"] if i.get("local")}
wanted = list(local) if sys.argv[2] == "__all__" else sys.argv[2].split()
unknown = [k for k in wanted if k not in local]
if unknown:
    sys.exit(f"XBUILD_IMAGES: unknown image(s) {' '.join(unknown)}; known: {' '.join(local)}")
deb = data["debootstrap"]
for key in dict.fromkeys(wanted):
    img = local[key]
    base = bases[img["base"]]
    if base["platform"] != img["platform"] or base["suite"] != img["suite"]:
        sys.exit(f"{img['name']}: platform/suite disagree with its base {base['name']}")
    print("\t".join([key, img["name"], base["name"], base["suite"], base["debian_arch"],
                     img["platform"], img["context"], img["arch"], img["libc_version"],
                     img["python"], img["policy"], deb["variant"], ",".join(deb["include"])]))
PY
}

# An image counts as present only with the right os/arch: images made by an earlier version of
# this script (or by `docker import` on an old engine) can carry the host arch, and those must
# be rebuilt or `docker run --platform` rejects them.
image_ok() {
  local os arch
  IFS=/ read -r os arch _ <<<"$2"   # compare os/arch; ignore a variant such as arm/v7
  [[ $(dk image inspect -f '{{.Os}}/{{.Architecture}}' "$1" 2>/dev/null) == "$os/$arch" ]]
}

# The mirror apt already uses (deb822 .sources or one-line sources.list), skipping security.
debian_mirror() {
  if [[ -n ${XBUILD_DEBIAN_MIRROR:-} ]]; then echo "$XBUILD_DEBIAN_MIRROR"; return; fi
  local m
  m=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
         grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
           | sed 's/\[[^]]*\]//' | awk '{print $2}'; } | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

# Suites leave the main mirror after their LTS ends (bullseye: Aug 2026); then use the archive.
suite_mirror() {
  local suite=$1 mirror
  mirror=$(debian_mirror)
  if ! wget -q -O /dev/null "$mirror/dists/$suite/Release" \
     && wget -q -O /dev/null "http://archive.debian.org/debian/dists/$suite/Release"; then
    mirror=http://archive.debian.org/debian
  fi
  echo "$mirror"
}

# debootstrap bind-mounts /proc and /sys (and /dev/pts) into the target; an interrupted run
# leaves them mounted and `rm -rf` would then walk into the host's /proc or /dev. Unmount
# everything below the dir (deepest first) and never let rm cross a file-system boundary.
clean_dir() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  while read -r m; do
    as_root umount -l "$m" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | awk -v d="$dir/" 'index($0, d) == 1' | sort -r)
  as_root rm -rf --one-file-system "$dir"
}

# Turn WORK/rootfs into image NAME for PLATFORM.
# Not `docker import --platform`: Debian's dockerd 20.10 ignores the platform on import and
# records the host arch, and then `docker run --platform linux/arm64` refuses the image and
# tries to pull it from Docker Hub. So write the one-layer image in `docker save` format
# ourselves, with the right architecture in its config, and `docker load` it (works with every
# engine version and with the containerd image store).
load_rootfs() {
  local work=$1 name=$2 platform=$3 suite=$4 debarch=$5 os arch variant digest now vjson=
  IFS=/ read -r os arch variant <<<"$platform"
  [[ -z $variant ]] || vjson=", \"variant\": \"$variant\""
  # --numeric-owner: ownership must follow the rootfs' own uids, not the host's user names.
  as_root tar --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
  digest=$(as_root sha256sum "$work/layer.tar" | cut -d' ' -f1)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  as_root tee "$work/config.json" >/dev/null <<JSON
{"architecture": "$arch", "os": "$os"$vjson, "created": "$now",
 "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
            "Cmd": ["/bin/bash"],
            "Labels": {"io.xbuild.suite": "$suite", "io.xbuild.platform": "$platform"}},
 "rootfs": {"type": "layers", "diff_ids": ["sha256:$digest"]},
 "history": [{"created": "$now", "created_by": "scripts/setup-engine.sh: debootstrap $suite $debarch"}]}
JSON
  as_root tee "$work/manifest.json" >/dev/null <<JSON
[{"Config": "config.json", "RepoTags": ["$name"], "Layers": ["layer.tar"]}]
JSON
  as_root tar -C "$work" -c manifest.json config.json layer.tar | dk load
}

# 3. One base image: debootstrap SUITE for DEBIAN_ARCH, strip caches, load, clean up.
# Foreign arches run debootstrap's second stage under qemu (via binfmt, no --foreign needed).
build_base() {
  local key=$1 base=$2 suite=$3 arch=$4 platform=$5 variant=$6 include=$7
  local work=$WORK_ROOT/$key logf=$LOG_DIR/xbuild-setup-debootstrap-$key.log t0=$SECONDS mirror
  mirror=$(suite_mirror "$suite")
  clean_dir "$work"   # leftovers of an interrupted run: debootstrap wants an empty target
  as_root mkdir -p "$work/rootfs" "$work/debs"
  if ! as_root debootstrap --variant="$variant" --include="$include" --arch="$arch" \
       --cache-dir="$work/debs" "$suite" "$work/rootfs" "$mirror" >"$logf" 2>&1; then
    log "base $base: debootstrap FAILED after $((SECONDS - t0))s; end of $logf:" >&2
    tail -n 15 "$logf" >&2
    return 1
  fi
  # Package lists and .debs are ~100 MB of dead weight: containers have no network anyway.
  as_root sh -c "rm -rf '$work/rootfs/var/cache/apt/archives/'*.deb '$work/rootfs/var/lib/apt/lists/'*"
  load_rootfs "$work" "$base" "$platform" "$suite" "$arch" >>"$logf" 2>&1 \
    || { log "base $base: loading into docker FAILED; see $logf" >&2; return 1; }
  clean_dir "$work"
  log "base $base: debootstrapped $suite/$arch from $mirror and loaded in $((SECONDS - t0))s"
}

setup_bases() {
  local rows=$1 key image base suite arch platform context machine glibc python policy variant include
  local -a fg=() bg=() pids=()
  local host_arch
  host_arch=$(dpkg --print-architecture)
  while IFS=$'\t' read -r key image base suite arch platform context machine glibc python policy variant include; do
    image_ok "$base" "$platform" && continue
    # Foreign arches are CPU-bound under qemu for minutes: start them first, in the background,
    # and run the native ones (mostly download-bound, ~1-2 min each) one after another meanwhile.
    if [[ $arch == "$host_arch" ]]; then fg+=("$key"); else bg+=("$key"); fi
  done <<<"$rows"
  if [[ ${#fg[@]} -eq 0 && ${#bg[@]} -eq 0 ]]; then
    log "bases: all present"
    return 0
  fi
  apt_install debootstrap wget
  log "bases: building ${bg[*]/%/ (background, qemu)} ${fg[*]} (logs $LOG_DIR/xbuild-setup-debootstrap-*.log)"
  local k failed=0
  for k in "${bg[@]}"; do
    IFS=$'\t' read -r key image base suite arch platform context machine glibc python policy variant include \
      < <(awk -F'\t' -v k="$k" '$1 == k' <<<"$rows")
    build_base "$key" "$base" "$suite" "$arch" "$platform" "$variant" "$include" &
    pids+=($!)
  done
  for k in "${fg[@]}"; do
    IFS=$'\t' read -r key image base suite arch platform context machine glibc python policy variant include \
      < <(awk -F'\t' -v k="$k" '$1 == k' <<<"$rows")
    build_base "$key" "$base" "$suite" "$arch" "$platform" "$variant" "$include" || failed=1
  done
  for k in "${pids[@]}"; do wait "$k" || failed=1; done
  [[ $failed -eq 0 ]] || die "some base images failed (see above)"
}

# 4. Build images from images/<context>/Dockerfile; images.toml supplies the build args and the
# Dockerfile verifies them against the image. --force-rm: no stopped containers left behind.
setup_build_images() {
  local rows=$1 key image base suite arch platform context machine glibc python policy variant include
  local built=() t0 logf
  while IFS=$'\t' read -r key image base suite arch platform context machine glibc python policy variant include; do
    image_ok "$image" "$platform" && continue
    t0=$SECONDS logf=$LOG_DIR/xbuild-setup-build-$key.log
    if ! dk build --force-rm --platform "$platform" -t "$image" \
         --build-arg SUITE="$suite" --build-arg ARCH="$arch" --build-arg MACHINE="$machine" --build-arg GLIBC="$glibc" \
         --build-arg PYTHON="$python" --build-arg POLICY="$policy" \
         "$IMAGES_DIR/$context" >"$logf" 2>&1; then
      tail -n 15 "$logf" >&2
      die "docker build of $image failed; see $logf"
    fi
    built+=("$image ($((SECONDS - t0))s)")
  done <<<"$rows"
  if [[ ${#built[@]} -eq 0 ]]; then
    log "images: all present"
  else
    log "images: built $(printf '%s, ' "${built[@]}" | sed 's/, $//')"
  fi
}

# ---------------------------------------------------------------------------------------------
setup_docker
setup_qemu
ROWS=$(plan_images) || die "bad XBUILD_IMAGES or $IMAGES_TOML (see above)"
if [[ -n $ROWS ]]; then
  setup_bases "$ROWS"
  setup_build_images "$ROWS"
else
  log "images: none selected (XBUILD_IMAGES is empty)"
fi

# 5. Summary.
log "summary: done in $((SECONDS - START))s${INSTALLED:+; installed ${INSTALLED[*]}}"
dk images --format '{{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' | grep '^xbuild-' | sort | sed 's/^/  /' || true
printf '  binfmt qemu-aarch64: %s\n' "$(head -n3 "$BINFMT/qemu-aarch64" | tr '\n' ' ')"
