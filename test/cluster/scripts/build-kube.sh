#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl from the Go module proxy, in one
# `go build`: the packages they share compile once and the three links run beside the compiles
# (components/kubectl.ts takes this kubectl when the cache has it).
# k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces that a
# dependent module cannot see, so a wrapper module pins each staging module to the
# published v0.<minor>.<patch> derived from the release's own go.mod.
# Usage: build-kube.sh <version like 1.36.3> <output dir>
set -euo pipefail
V="$1"; OUT="$2"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
# A private work folder, the binaries renamed into place only when all are built: an
# interrupted build never leaves a binary that looks complete, and two builds at once both succeed.
mkdir -p "$OUT/bin"
WORK=$(mktemp -d "$OUT/.build-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin"; cd "$WORK"
go mod init local/tributary-kube >/dev/null 2>&1
go mod edit -go=1.26.0
MOD=$(go mod download -json "k8s.io/kubernetes@v$V" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$MOD" ] || { echo "build-kube: could not download k8s.io/kubernetes@v$V go.mod" >&2; exit 1; }
n=0
for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/.*|\1|p' "$MOD"); do
  go mod edit -replace="$m=$m@v0.${V#1.}"; n=$((n+1))
done
echo "build-kube: pinned $n staging modules to v0.${V#1.}"
cat > tools.go <<'GO'
//go:build tools
package tools
import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
go get "k8s.io/kubernetes@v$V"
MINOR=$(echo "$V" | cut -d. -f2)
# -dwarf=false: the compiler emits no debug info, which -ldflags -w would drop at link anyway
# (the stripped binary comes out the same size; 7% less compile CPU measured on versitygw);
# kubectl.ts's own build (for a cache from before kubectl was built here) passes the same flags.
# Both version packages, as Kubernetes' own build stamps them (kubectl reports client-go's).
X=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  X="$X -X $pkg.gitVersion=v$V -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
done
go build -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w$X" -o "$WORK/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
"$WORK/bin/kube-apiserver" --version
"$WORK/bin/kubectl" version --client
mv -f "$WORK/bin/kubectl" "$OUT/bin/kubectl"
# The apiserver last: ensureKubeBinaries takes the build as done when it reports the version.
mv -f "$WORK/bin/kube-controller-manager" "$OUT/bin/kube-controller-manager"
mv -f "$WORK/bin/kube-apiserver" "$OUT/bin/kube-apiserver"
