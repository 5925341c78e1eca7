#!/usr/bin/env bash
# The installed hemo, from the outside (ctest label `package`, tests/CMakeLists.txt):
#   package_test.sh model   BUILD WORK   trains a small model file (pbcnet7, 32 px, one epoch on
#                                        synthetic images) and picks a test image: the fixture
#   package_test.sh install BUILD WORK   `cmake --install BUILD --prefix WORK/prefix`, then the checks
#   package_test.sh deb     BUILD WORK   `cpack -G DEB`, the .deb's name and fields, its files
#                                        extracted with `dpkg-deb -x` into WORK/root, then the checks
# The checks: the expected files are there; the installed `hemo --version` prints the version and
# the commit; examples/embed, as installed under share/hemo/examples, configures with
# find_package(hemo) against the installed package alone, builds, and classifies the image with
# the same top classes and probabilities (1e-5) as the installed hemo-infer-cpu.
# Why dpkg-deb -x rather than dpkg -i: the test must not change the machine it runs on (a
# developer's, or CI's, which may already have a hemo installed), and an extracted tree under a
# temporary root checks the same files plus the package's relocatability; the Depends field is
# checked from the package's control data.
set -euo pipefail
mode=$1 build=$(cd "$2" && pwd) work=$3
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

if [[ $mode == model ]]; then
  rm -rf "$work/smears" "$work/run"
  "$build/tools/hemo" synth --out "$work/smears" --per-class 4 --size 48 --seed 1 >/dev/null
  "$build/tools/hemo" train --model pbcnet7 --data "$work/smears" --out "$work/run" --input-size 32 \
    --epochs 1 --batch-size 8 --threads 2 --seed 1 >/dev/null
  model=$(ls "$work"/run/*.safetensors | head -1)
  image=$(find "$work/smears" -type f | sort | head -1)
  [[ -f $model && -f $image ]] || fail "no model file or image from hemo train"
  printf '%s\n%s\n' "$model" "$image" >"$work/model.txt"
  echo "model fixture: $model, image $image"
  exit 0
fi
[[ -f $work/model.txt ]] || fail "$work/model.txt missing: the package_model fixture did not run"
model=$(sed -n 1p "$work/model.txt") image=$(sed -n 2p "$work/model.txt")

case $mode in
  install)
    prefix=$work/prefix
    rm -rf "$prefix"
    cmake --install "$build" --prefix "$prefix" >"$work/install.log"
    ;;
  deb)
    version=$(sed -n 's/^#define HEMO_VERSION_STRING "\(.*\)"/\1/p' "$build/generated/include/hemo/version.h")
    rm -rf "$work/pkg" "$work/root"
    (cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
    deb=$work/pkg/hemo_${version}_amd64.deb
    [[ -f $deb ]] || fail "cpack made $(ls "$work/pkg"/*.deb 2>/dev/null), not $deb"
    depends=$(dpkg-deb -f "$deb" Depends)
    for dep in libturbojpeg0 libgomp1 libc6; do
      [[ $depends == *$dep* ]] || fail "$deb: Depends lacks $dep: $depends"
    done
    [[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "$deb: Version is not $version"
    dpkg-deb -x "$deb" "$work/root"
    prefix=$work/root/usr
    ;;
  *) fail "unknown mode $mode" ;;
esac

for f in bin/hemo bin/hemo-infer bin/hemo-infer-cpu include/hemo/hemo.h include/hemo/model.h include/hemo/version.h \
         lib/cmake/hemo/hemoConfig.cmake lib/cmake/hemo/hemoConfigVersion.cmake share/hemo/README.md \
         share/hemo/docs/deploy.md share/hemo/weights/README.md share/hemo/examples/embed/CMakeLists.txt; do
  [[ -e $prefix/$f ]] || fail "$prefix/$f was not installed"
done
ls "$prefix"/lib/hemo/libhemo_*.a >/dev/null || fail "no static library in $prefix/lib/hemo"

version_line=$("$prefix/bin/hemo" --version)
[[ $version_line =~ ^hemo\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-f]{12}(-dirty)?\)$ ]] \
  || fail "hemo --version printed '$version_line'"
if commit=$(git -C "$source_dir" rev-parse --short=12 HEAD 2>/dev/null); then
  [[ $version_line == *"commit $commit"* ]] || fail "hemo --version printed '$version_line', the checkout is at $commit"
fi
echo "$version_line"

# The example, built against this install only (no build tree on the search path).
example=$work/example-$mode
rm -rf "$example"
cmake -S "$prefix/share/hemo/examples/embed" -B "$example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/example-$mode.log" \
  || { cat "$work/example-$mode.log"; fail "configuring examples/embed against $prefix"; }
grep -q "hemo_DIR:PATH=$prefix/lib/cmake/hemo" "$example/CMakeCache.txt" || fail "find_package(hemo) did not find $prefix"
cmake --build "$example" >>"$work/example-$mode.log" 2>&1 || { cat "$work/example-$mode.log"; fail "building examples/embed"; }
"$example/classify" "$model" "$image" >"$work/classify-$mode.txt"
"$prefix/bin/hemo-infer-cpu" "$model" "$image" --top 3 --json >"$work/infer-$mode.json"
cat "$work/classify-$mode.txt"
/usr/bin/python3 - "$work/classify-$mode.txt" "$work/infer-$mode.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")[1:]
got = [(l.split()[0], float(l.split()[1])) for l in lines if l.strip()]
want = [(t["class"], t["probability"]) for t in json.load(open(sys.argv[2]))[0]["top"]]
assert len(got) == 3 and [g[0] for g in got] == [w[0] for w in want], f"classes differ: {got} vs {want}"
worst = max(abs(g[1] - w[1]) for g, w in zip(got, want))
assert worst < 1e-5, f"probabilities differ by {worst}: {got} vs {want}"
print(f"examples/embed agrees with hemo-infer-cpu: {got} (worst difference {worst:.1e})")
PY
# The shipped models travel with the package, and the installed hemo-infer finds them there by itself
# (weights/shipped.h: share/hemo/weights beside bin/), not in the source tree this build came from.
shipped=$(ls "$source_dir"/weights/*-pbc128.safetensors 2>/dev/null | head -1)
[[ -n $shipped ]] || fail "no shipped model in $source_dir/weights"
[[ -e $prefix/share/hemo/weights/$(basename "$shipped") && -e $prefix/share/hemo/weights/MODELS.md \
   && -e $prefix/share/hemo/weights/pbc128-split.csv ]] || fail "the shipped models were not installed under $prefix/share/hemo/weights"
"$prefix/bin/hemo-infer-cpu" "$image" --top 1 >"$work/shipped-$mode.txt" 2>"$work/shipped-$mode.err" \
  || { cat "$work/shipped-$mode.err"; fail "the installed hemo-infer-cpu could not classify $image without a model named"; }
grep -q "using the shipped model .*: $prefix/share/hemo/weights/" "$work/shipped-$mode.err" \
  || fail "the installed hemo-infer-cpu did not use $prefix/share/hemo/weights: $(cat "$work/shipped-$mode.err")"
echo "installed hemo-infer-cpu without --model: $(tr -s ' \n' ' ' <"$work/shipped-$mode.txt")"
echo "package $mode: OK"
