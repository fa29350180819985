#!/usr/bin/env bash
# Builds fcgid's container images from Debian 12 packages only: no base image
# and no registry, a root filesystem made with mmdebstrap from Debian's
# mirror, imported with `podman import`.
#
#   packaging/container/build.sh [--deb PATH] [--build-dir DIR] [--out DIR]
#                                [--mirror URL] [--no-import | --import-only]
#
#   fcgid         Debian 12's Essential packages + the fcgid .deb (with the
#                 libraries its Depends name), run as www-data (uid 33).
#   fcgid-nginx   Debian 12's Essential packages + nginx-light, the sidecar
#                 that speaks HTTP and passes requests over the pod's shared
#                 unix socket (packaging/kubernetes/fcgid-pod.yaml).
#
# Output in --out (default build/container/): fcgid-rootfs.tar and
# fcgid-nginx-rootfs.tar, and with podman the images localhost/fcgid:VERSION
# and localhost/fcgid-nginx:VERSION (plus :latest). Without --deb the .deb is
# made with cpack in --build-dir (default build/, configured with CMake).
# Needs root, mmdebstrap and network access to the mirror (a few minutes);
# podman only for the import (--no-import: the tarballs alone;
# --import-only: the images from the tarballs already in --out).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(cd "$here/../.." && pwd)"

deb=""
build_dir="$root_dir/build"
out="$root_dir/build/container"
mirror="http://deb.debian.org/debian"
import=1
rootfs_too=1
while (($#)); do
    case $1 in
        --deb) deb=$2; shift 2 ;;
        --build-dir) build_dir=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --mirror) mirror=$2; shift 2 ;;
        --no-import) import=0; shift ;;
        --import-only) rootfs_too=0; shift ;;
        *) echo "build.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
done
die() { echo "build.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (mmdebstrap in root mode, podman import)"
((rootfs_too == 0)) || command -v mmdebstrap >/dev/null || die "mmdebstrap not found: apt-get install mmdebstrap"
((import == 0)) || command -v podman >/dev/null || die "podman not found: apt-get install podman (or --no-import)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ((rootfs_too)); then
    if [[ -z "$deb" ]]; then
        [[ -f "$build_dir/CPackConfig.cmake" ]] || die "no CPackConfig.cmake in $build_dir: configure and build first, or give --deb"
        echo "# cpack -G DEB in $build_dir"
        (cd "$build_dir" && cpack -G DEB >"$out/cpack.log" 2>&1) || die "cpack failed: $(tail -n 5 "$out/cpack.log")"
        deb="$(ls -t "$build_dir"/fcgid_*.deb | head -n 1)"
    fi
    [[ -f "$deb" ]] || die "no such .deb: '$deb'"
    deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
    version="$(dpkg-deb -f "$deb" Version)"
    echo "# fcgid $version from $deb"

    # Essential (no apt, no init) keeps the image small; docs, man pages and
    # locales are left out, except fcgid's own examples.
    common=(--variant=essential --dpkgopt='path-exclude=/usr/share/man/*'
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
        --dpkgopt='path-include=/usr/share/doc/fcgid/*')

    # rootfs NAME MMDEBSTRAP_ARGS...: $out/NAME-rootfs.tar.
    rootfs() {
        local name=$1
        shift
        echo "# mmdebstrap $name (log: $out/$name-mmdebstrap.log)"
        mmdebstrap "${common[@]}" "$@" bookworm "$out/$name-rootfs.tar" "$mirror" \
            >"$out/$name-mmdebstrap.log" 2>&1 || die "mmdebstrap $name failed: $(tail -n 5 "$out/$name-mmdebstrap.log")"
        echo "# $name-rootfs.tar: $(du -h "$out/$name-rootfs.tar" | cut -f1)"
    }

    # The .deb is made visible inside the chroot by mmdebstrap's own hook, so
    # apt resolves its Depends from the mirror. (mmdebstrap leaves /run empty:
    # the runtime creates the emptyDir's mount point /run/fcgid.)
    rootfs fcgid --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
        --include="$deb"
    rootfs fcgid-nginx --include=nginx-light \
        --customize-hook='rm -f "$1/etc/nginx/sites-enabled/default"'
fi

((import)) || exit 0
version="$(tar -xOf "$out/fcgid-rootfs.tar" ./var/lib/dpkg/status | awk '/^Package: fcgid$/ { p = 1 } p && /^Version:/ { print $2; exit }')"
[[ -n "$version" ]] || die "no fcgid package in $out/fcgid-rootfs.tar"
# The image metadata a Containerfile would give; the pod spec names the
# command and the user anyway, these are the defaults for `podman run`.
# (podman import splits `KEY=VALUE` changes on spaces: JSON lists are given
# in the `CMD [...]` form, without spaces between the items.)
podman import \
    --change 'USER=33:33' \
    --change 'WORKDIR=/' \
    --change 'ENTRYPOINT=["/usr/bin/fcgid"]' \
    --change 'CMD ["run","--plugin","/usr/lib/fcgid/plugins/hello.so","--socket","/run/fcgid/fcgid.sock"]' \
    --change 'STOPSIGNAL=SIGTERM' \
    --message "fcgid $version on Debian 12 (mmdebstrap)" \
    "$out/fcgid-rootfs.tar" "localhost/fcgid:$version" >/dev/null
podman tag "localhost/fcgid:$version" localhost/fcgid:latest
# nginx's graceful stop is SIGQUIT (SIGTERM is its fast stop).
podman import \
    --change 'USER=33:33' \
    --change 'ENTRYPOINT=["/usr/sbin/nginx"]' \
    --change 'CMD ["-g","daemon off;"]' \
    --change 'STOPSIGNAL=SIGQUIT' \
    --message "nginx-light on Debian 12 (mmdebstrap), fcgid's sidecar" \
    "$out/fcgid-nginx-rootfs.tar" "localhost/fcgid-nginx:$version" >/dev/null
podman tag "localhost/fcgid-nginx:$version" localhost/fcgid-nginx:latest
podman images --filter reference='localhost/fcgid*' --format '# image {{.Repository}}:{{.Tag}} {{.Size}}'
