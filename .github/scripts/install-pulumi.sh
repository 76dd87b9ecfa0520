#!/usr/bin/env bash
# Install the Pulumi CLI at the version the Python SDK is pinned to (requirements.txt), from the
# release's own archive, checked against the release's published SHA-256 checksums. No installer
# script is piped to a shell, and the CLI never drifts ahead of the SDK. The archive and checksum
# names follow Pulumi's GitHub releases; this machine has no network, so it was not run here.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^pulumi==\([0-9][0-9.]*\)$/\1/p' "$root/requirements.txt")
if [ -z "$version" ]; then
  echo "install-pulumi: no 'pulumi==X.Y.Z' pin in requirements.txt" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-pulumi: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

archive="pulumi-v${version}-linux-${arch}.tar.gz"
base="https://github.com/pulumi/pulumi/releases/download/v${version}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/$archive" "$base/$archive"
curl -fsSL --retry 3 -o "$work/checksums.txt" "$base/pulumi-${version}-checksums.txt"
(cd "$work" && grep " ${archive}\$" checksums.txt | sha256sum --check --strict -)

# The archive holds pulumi/<binaries>; they go where get.pulumi.com's installer puts them.
dest="${PULUMI_HOME:-$HOME/.pulumi}"
mkdir -p "$dest/bin"
tar -xzf "$work/$archive" -C "$dest/bin" --strip-components=1
echo "$dest/bin" >> "${GITHUB_PATH:-/dev/null}"
"$dest/bin/pulumi" version
