#!/bin/bash
# The reference VM's wheelhouse, made inside its debootstrapped tree by the guest's own Python
# (the host's is another version: bookworm 3.11, trixie 3.13, with other binary wheels), then
# pre-installed into that Python: the guest's venv (system site packages) reuses them, and the
# wheels go on the share for what pip still installs there (PyPI is not reachable from the guest).
#   guest-wheels.sh ROOTFS REPO OUTDIR
set -euo pipefail
R=${1:?rootfs}; REPO=${2:?repo}; OUT=${3:?outdir}
mkdir -p "$OUT" "$R/tmp/cce-src" "$R/tmp/wheels"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$R/tmp/cce-src"
# The host's resolver and CA bundle, for this step only (the image gets its own in customize-rootfs.sh).
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
cp -L /etc/ssl/certs/ca-certificates.crt "$R/tmp/host-ca.crt"
in_tree() { env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PIP_CERT=/tmp/host-ca.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 chroot "$R" "$@"; }
in_tree /usr/bin/python3 -m pip download -q -d /tmp/wheels "/tmp/cce-src[dev]" setuptools wheel 2>&1 \
    | { grep -v ' is ignored: ' || true; }
for sdist in "$R"/tmp/wheels/*.tar.gz; do
    [ -e "$sdist" ] || continue
    in_tree /usr/bin/python3 -m pip wheel -q --no-deps -w /tmp/wheels "/tmp/wheels/${sdist##*/}" && rm -f "$sdist"
done
rm -f "$R"/tmp/wheels/cce_lab-*  # the lab itself comes from the repository copy on the share
wheels=$(cd "$R/tmp/wheels" && printf '/tmp/wheels/%s ' *.whl)
# --ignore-installed: beside, not over, what Debian's packages installed (trixie's python3-typing-extensions
# has no RECORD for pip to uninstall); /usr/local comes first on the guest's sys.path.
# shellcheck disable=SC2086  # one argument per wheel
in_tree /usr/bin/python3 -m pip install -q --break-system-packages --ignore-installed --no-index --find-links /tmp/wheels $wheels
cp "$R"/tmp/wheels/*.whl "$OUT/"
rm -rf "$R/tmp/cce-src" "$R/tmp/wheels" "$R/tmp/host-ca.crt" "$R/root/.cache"
