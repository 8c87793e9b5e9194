# Developer entry points. `just demo` runs the main job end to end on the embedded defaults;
# `just test` runs every test. Both bring what the machine lacks (PostgreSQL, an S3 server).

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where the tests create their databases, when DATABASE_URL's server does not answer.
local_pg_port := "54329"

default:
    @just --list

# Make sure a PostgreSQL server answers; start a throwaway cluster in var/pg if none does.
# Prints the server's admin URL.
db:
    #!/usr/bin/env bash
    set -euo pipefail
    answers() { command -v psql >/dev/null && psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }
    candidate="${DATABASE_URL:-postgres://postgres@localhost:5432/vibeinsight}"
    if answers "${candidate%/*}/postgres"; then echo "${candidate%/*}/postgres"; exit 0; fi
    url="postgres://postgres@127.0.0.1:{{local_pg_port}}/postgres"
    if answers "$url"; then echo "$url"; exit 0; fi
    pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
    if [ -z "$(pg_bin)" ] || ! command -v psql >/dev/null; then
      echo "db: installing PostgreSQL from the distribution's packages" >&2
      just _apt postgresql postgresql-client
    fi
    bin=$(pg_bin); data="$PWD/var/pg"
    as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"
      if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
      as_pg "'$bin/initdb' -D '$data' -U postgres --auth=trust -E UTF8 >/dev/null"
    fi
    as_pg "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -w -o '-p {{local_pg_port}} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300' start >/dev/null"
    echo "db: started a local cluster in $data on port {{local_pg_port}}" >&2
    echo "$url"

# Start a real S3-compatible server for the tests (moto's, from PyPI) unless one answers.
s3:
    #!/usr/bin/env bash
    set -euo pipefail
    endpoint="${VIBEINSIGHT_TEST_S3_ENDPOINT:-http://127.0.0.1:9900}"
    up() { curl -fsS -o /dev/null "$endpoint/" 2>/dev/null; }
    if up; then echo "$endpoint"; exit 0; fi
    if ! command -v moto_server >/dev/null; then
      echo "s3: installing moto's S3 server from PyPI" >&2
      python3 -m pip install -q 'moto[server]' >&2
    fi
    mkdir -p var
    nohup moto_server -H 127.0.0.1 -p "${endpoint##*:}" >var/moto.log 2>&1 &
    for _ in $(seq 1 100); do if up; then echo "$endpoint"; exit 0; fi; sleep 0.2; done
    echo "s3: moto_server did not start; see var/moto.log" >&2; exit 1

# First setup: a few minutes and ~1 GB under ~/.cache/vibeinsight-stt, PyPI only (no model hub).
# When it cannot be set up it says why on stderr and prints nothing: those tests then skip.
# Start the real OpenAI-compatible Whisper server (../shared/tools/stt-server); print its URL.
stt:
    #!/usr/bin/env bash
    set -uo pipefail
    tools="${VIBEINSIGHT_STT_TOOLS:-$PWD/../shared/tools/stt-server}"
    fail() { echo "stt: $*; the real-server transcription tests will be SKIPPED" >&2; exit 0; }
    [ -x "$tools/start.sh" ] || fail "no server tools at $tools"
    # nice: the server shares the 2 cores with the build and the other tests.
    url=$(STT_READY_TIMEOUT="${STT_READY_TIMEOUT:-600}" nice -n 10 "$tools/start.sh" "${STT_IMPL:-oas}") \
      || fail "the server did not start (setup or start failed; see the messages above)"
    echo "$url"

# The real local chat model (../shared/tools/llm-server: llama.cpp, Qwen2.5-Coder 0.5B) on its
# own port, so a measurement on the default port is left alone; prints its URL. First setup
# ~1 min and ~0.55 GB under ~/.cache/vibeinsight-llm, PyPI only. When it cannot be set up it
# says why on stderr and prints nothing: the real-model tests then SKIP (and fail under CI).
llm:
    #!/usr/bin/env bash
    set -uo pipefail
    tools="${VIBEINSIGHT_LLM_TOOLS:-$PWD/../shared/tools/llm-server}"
    fail() { echo "llm: $*; the real-model judgement tests will be SKIPPED" >&2; exit 0; }
    [ -x "$tools/start.sh" ] || fail "no server tools at $tools"
    url=$(LLM_PORT="${LLM_PORT:-8778}" LLM_READY_TIMEOUT="${LLM_READY_TIMEOUT:-600}" nice -n 5 "$tools/start.sh") \
      || fail "the server did not start (setup or start failed; see the messages above)"
    echo "$url"

# Stops the model `just llm` started (only that one, by its saved pid).
llm-stop:
    #!/usr/bin/env bash
    tools="${VIBEINSIGHT_LLM_TOOLS:-$PWD/../shared/tools/llm-server}"
    [ -x "$tools/stop.sh" ] && LLM_PORT="${LLM_PORT:-8778}" "$tools/stop.sh" || true

# ONNX Runtime for neural diarization (PyPI wheel, loaded at run time); prints the library path.
onnx:
    #!/usr/bin/env bash
    set -uo pipefail
    find_lib() { python3 - <<'PY' 2>/dev/null
    import glob, os, onnxruntime
    libs = glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so*"))
    print(sorted(libs)[-1])
    PY
    }
    lib=$(find_lib) || { echo "onnx: installing onnxruntime from PyPI" >&2; python3 -m pip install -q --user onnxruntime >&2; lib=$(find_lib); }
    [ -n "$lib" ] && echo "$lib" || echo "onnx: no ONNX Runtime; neural diarization falls back to the classical path and its test is SKIPPED" >&2

# libopus' headers, for the Opus decoder (the `opus` crate links the system library).
libopus:
    #!/usr/bin/env bash
    set -euo pipefail
    pkg-config --exists opus 2>/dev/null && exit 0
    echo "libopus: installing libopus-dev and pkg-config from the distribution's packages" >&2
    just _apt libopus-dev pkg-config

# Decode speed and memory against ffmpeg on an hour of real speech (release build).
bench: libopus
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v ffmpeg >/dev/null; then   # the peer the bench runs side by side
      echo "bench: installing Debian's ffmpeg" >&2
      just _apt ffmpeg
    fi
    cargo bench --bench decode

# Transcription against the real Whisper server (`just stt`): `wer` = WER/CER of each stage
# on the dev recordings; `hour` = wall time of one hour with 1 and N chunks in flight, on the
# real server and on a stub with a remote provider's latency (env: see benches/transcribe/hour.rs).
bench-stt mode="wer": libopus
    #!/usr/bin/env bash
    set -euo pipefail
    url=$(just stt)
    export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(just onnx)}"
    nice -n 10 cargo bench --bench transcribe -- {{mode}} "$url"

# `inputs`: the dev recordings through the real Whisper server (`just stt`), transcripts and
# metrics cached in ../judgement-inputs; `judge`: `assess` on them with the local LLM
# (../shared/tools/llm-server, stopped afterwards; model 0.5b or 1.5b), results in
# $JUDGEMENT_RESULTS (default ../judgement-results); JUDGEMENT_RUNS repeats each recording.
# How often the local LLM's coaching assessment passes validation (benches/judgement.rs).
bench-judgement mode="judge" model="0.5b": libopus
    #!/usr/bin/env bash
    set -euo pipefail
    cargo bench --bench judgement --no-run
    case "{{mode}}" in
      inputs)
        export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(just onnx)}"
        url=$(just stt); [ -n "$url" ] || exit 1
        nice -n 10 cargo bench --bench judgement -- inputs "$url" ;;
      judge)
        tools="$PWD/../shared/tools/llm-server"
        url=$(LLM_MODEL={{model}} "$tools/start.sh")
        trap '"$tools/stop.sh"' EXIT
        nice -n 10 cargo bench --bench judgement -- judge "$url" "qwen2.5-coder-{{model}}-instruct" ;;
      *) echo "bench-judgement: mode is inputs or judge" >&2; exit 1 ;;
    esac

# Run the main job end to end: migrate, queue the bundled recording, process it, print it.
demo: libopus
    #!/usr/bin/env bash
    set -euo pipefail
    server=$(just db)
    export DATABASE_URL="${server%/*}/vibeinsight"
    cargo build --quiet
    bin=target/debug/vibeinsight
    $bin migrate
    mkdir -p var
    $bin run 2>var/demo-worker.log &
    worker=$!
    trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null || true' EXIT
    echo "worker running (pid $worker, log var/demo-worker.log); queueing the demo recording"
    $bin enqueue tests/fixtures/demo/ja_two_speakers.ogg --language ja --wait &
    waiting=$!
    # A worker that cannot start (e.g. the metrics port is taken) must not leave us waiting.
    while kill -0 $waiting 2>/dev/null; do
      if ! kill -0 $worker 2>/dev/null; then
        kill $waiting 2>/dev/null
        echo "demo: the worker exited: $(tail -n 3 var/demo-worker.log)" >&2
        exit 1
      fi
      sleep 0.5
    done
    wait $waiting

# Every test: unit, integration (real PostgreSQL, pgmq, S3), with the services they need.
test: libopus
    #!/usr/bin/env bash
    set -euo pipefail
    export VIBEINSIGHT_TEST_ADMIN_URL=$(just db)
    export VIBEINSIGHT_TEST_S3_ENDPOINT=$(just s3)
    export VIBEINSIGHT_TEST_STT_URL=$(just stt)
    export VIBEINSIGHT_TEST_LLM_URL=$(just llm)
    trap 'just llm-stop' EXIT   # the model holds ~0.7 GB; the next run starts it in seconds
    export ORT_DYLIB_PATH=$(just onnx)
    if ! command -v chromium >/dev/null; then   # the report test renders the HTML in it
      echo "test: installing chromium and CJK/emoji fonts for the report test" >&2
      just _apt chromium fonts-noto-cjk fonts-noto-color-emoji \
        || echo "test: could not install chromium; the report rendering test will be SKIPPED" >&2
    fi
    # Databases of earlier runs that were interrupted.
    psql "$VIBEINSIGHT_TEST_ADMIN_URL" -Atqc "select datname from pg_database where datname like 'vi_test_%'" \
      | while read -r name; do psql "$VIBEINSIGHT_TEST_ADMIN_URL" -qc "drop database if exists \"$name\" with (force)" >/dev/null; done
    if ! cargo nextest --version >/dev/null 2>&1; then
      echo "test: installing cargo-nextest" >&2
      cargo install --locked cargo-nextest >&2
    fi
    cargo nextest run --no-fail-fast
    .ci/pgtap "$VIBEINSIGHT_TEST_ADMIN_URL"                  # supabase/tests/*.sql with pg_prove
    .ci/edge-functions "$VIBEINSIGHT_TEST_S3_ENDPOINT"       # supabase/functions/ with Deno

# Diarization on the shared dev conversations: DER full/nist, miss/FA/confusion, talk-ratio
# error, wall time and mode per file (skips, saying so, when ../shared/data is absent).
# `speakers`: `ref` (each file's reference count, as a declared session), `auto` (estimated,
# as a session with num_speakers null; the `sure` column says how sure), or a number.
eval speakers="ref":
    #!/usr/bin/env bash
    set -euo pipefail
    dir="${VIBEINSIGHT_DATA:-$PWD/../shared/data/conversations}"
    if [ ! -d "$dir" ]; then echo "eval: $dir not found; skipping"; exit 0; fi
    # The neural path needs ONNX Runtime; the onnxruntime wheel carries it (see README).
    if [ -z "${ORT_DYLIB_PATH:-}" ]; then
      lib=$(python3 -c 'import onnxruntime,glob,os;print(sorted(glob.glob(os.path.dirname(onnxruntime.__file__)+"/capi/libonnxruntime.so*"))[-1])' 2>/dev/null || true)
      if [ -n "$lib" ]; then export ORT_DYLIB_PATH="$lib"; else echo "eval: no ONNX Runtime found; classical path only" >&2; fi
    fi
    cargo build --release --quiet
    target/release/vibeinsight eval diarization --dir "$dir" --speakers {{speakers}}

# The peer beside `just eval`: sherpa-onnx 2.0.1 (PEERS.md; PyPI, into var/sherpa-venv) with
# the same two models, count estimated (`auto`, its default threshold 0.5) or the reference's
# (`ref`); its RTTMs (var/sherpa-<speakers>/) scored by our scorer, in the same table.
eval-peer speakers="auto":
    #!/usr/bin/env bash
    set -euo pipefail
    dir="${VIBEINSIGHT_DATA:-$PWD/../shared/data/conversations}"
    models="${VIBEINSIGHT_DIARIZATION_MODELS:-$PWD/../shared/models/diarization}"
    if [ ! -d "$dir" ]; then echo "eval-peer: $dir not found; skipping"; exit 0; fi
    if [ ! -x var/sherpa-venv/bin/python ]; then
      echo "eval-peer: installing sherpa-onnx 2.0.1 into var/sherpa-venv" >&2
      python3 -m venv var/sherpa-venv
      var/sherpa-venv/bin/pip install -q sherpa-onnx==2.0.1 soundfile >&2
    fi
    var/sherpa-venv/bin/python .ci/sherpa-diarize.py "$models" "$dir" "var/sherpa-{{speakers}}" --speakers {{speakers}} >&2
    cargo build --release --quiet
    target/release/vibeinsight eval diarization --dir "$dir" --hyp "var/sherpa-{{speakers}}"

# Debian packages the machine lacks (as root, or through sudo); progress goes to stderr so the
# recipes that print a URL keep stdout clean.
_apt +packages:
    #!/usr/bin/env bash
    set -euo pipefail
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq {{packages}} >&2

fmt:
    cargo fmt

lint:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
