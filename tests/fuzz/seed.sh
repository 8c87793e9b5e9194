#!/usr/bin/env bash
# Seeds the corpus from the format fixtures: each file's first 64 KiB, prefixed with the
# selector byte of its extension hint (see HINTS in fuzz_targets/decode.rs).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/decode
hints=(none wav flac mp3 m4a ogg webm opus mp4 mka)
for f in ../fixtures/formats/*.*; do
  case $f in *.sh|*.md) continue ;; esac
  ext=${f##*.}
  sel=0
  for i in "${!hints[@]}"; do [ "${hints[$i]}" = "$ext" ] && sel=$i; done
  { printf "\\x$(printf %02x "$sel")"; head -c 65536 "$f"; } > "corpus/decode/$(basename "$f")"
done
ls corpus/decode | wc -l
