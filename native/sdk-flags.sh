#!/bin/sh
# Prints the `swift build` flags that switch on the FoundationModels API of the macOS SDK at hand
# (see Sources/fm-runner/AppleModelFacts.swift): `swift build $(./sdk-flags.sh) ...`.
# Prints nothing off macOS or when the SDK version cannot be read (the 26.0 API set is used then).
[ "$(uname -s)" = Darwin ] || exit 0
version=$(xcrun --sdk macosx --show-sdk-version 2>/dev/null) || exit 0
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
[ "$rest" = "$version" ] && minor=0
case $major in ''|*[!0-9]*) exit 0 ;; esac
case $minor in ''|*[!0-9]*) minor=0 ;; esac
flags=""
if [ "$major" -gt 26 ] || { [ "$major" -eq 26 ] && [ "$minor" -ge 4 ]; }; then
    flags="-Xswiftc -DFM_HAS_MACOS_26_4_SDK"
fi
if [ "$major" -ge 27 ]; then
    flags="$flags -Xswiftc -DFM_HAS_MACOS_27_SDK"
fi
echo $flags
