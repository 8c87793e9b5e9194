#!/usr/bin/env python3
"""The peer of `just eval-peer`: sherpa-onnx's offline diarization (PEERS.md's `sherpa` row:
sherpa-onnx 2.0.1 from PyPI, pyannote segmentation-3.0 + CAM++ from ../shared/models) on
every annotated WAV under DIR/*/, one RTTM per recording in OUT, for
`vibeinsight eval diarization --hyp OUT` to score with our scorer.

usage: sherpa-diarize.py MODELS DIR OUT [--speakers auto|ref] [--threshold 0.5]
"""
import argparse
import pathlib
import time
import unicodedata

import sherpa_onnx


def read_wav(path):
    import soundfile

    x, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return x.mean(axis=1), rate


def fold(name):
    """Accent-folded id, as our `lookup` matches `trñ00.wav` to the RTTM's `trn00`."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def ref_speakers(rttm_files, stem):
    speakers = set()
    for f in rttm_files:
        for line in f.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 8 and parts[0] == "SPEAKER" and fold(parts[1]) == fold(stem):
                speakers.add(parts[7])
    return len(speakers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models")
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--speakers", default="auto")
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    models = pathlib.Path(a.models)
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for sub in sorted(p for p in pathlib.Path(a.dir).iterdir() if p.is_dir()):
        rttms = sorted(sub.glob("*.rttm"))
        for wav in sorted(sub.glob("*.wav")):
            k = ref_speakers(rttms, wav.stem)
            if k == 0:
                continue
            n = k if a.speakers == "ref" else -1
            config = sherpa_onnx.OfflineSpeakerDiarizationConfig(
                segmentation=sherpa_onnx.OfflineSpeakerSegmentationModelConfig(
                    pyannote=sherpa_onnx.OfflineSpeakerSegmentationPyannoteModelConfig(
                        model=str(models / "segmentation-3.0.onnx")
                    ),
                ),
                embedding=sherpa_onnx.SpeakerEmbeddingExtractorConfig(
                    model=str(models / "3dspeaker_speech_campplus_sv_zh_en_16k-common_advanced.onnx")
                ),
                clustering=sherpa_onnx.FastClusteringConfig(num_clusters=n, threshold=a.threshold),
                min_duration_on=0.3,
                min_duration_off=0.5,
            )
            sd = sherpa_onnx.OfflineSpeakerDiarization(config)
            x, rate = read_wav(wav)
            if rate != sd.sample_rate:
                raise SystemExit(f"{wav}: {rate} Hz, sherpa-onnx wants {sd.sample_rate}")
            t0 = time.time()
            segs = sd.process(x).sort_by_start_time()
            wall = time.time() - t0
            found = len({s.speaker for s in segs})
            lines = [
                f"SPEAKER {wav.stem} 1 {s.start:.3f} {s.end - s.start:.3f} <NA> <NA> sherpa_{s.speaker} <NA> <NA>\n"
                for s in segs
            ]
            (out / f"{wav.stem}.rttm").write_text("".join(lines), encoding="utf-8")
            print(f"{sub.name}/{wav.stem}: {found} speakers (reference {k}), {wall:.2f} s", flush=True)


if __name__ == "__main__":
    main()
