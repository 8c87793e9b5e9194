#!/usr/bin/env bash
# Starts a real S3-compatible server for the tests (moto's server, from PyPI) unless one
# answers already, and prints its endpoint. Set VIBEINSIGHT_TEST_S3_ENDPOINT to use another.
set -euo pipefail
cd "$(dirname "$0")/.."
endpoint="${VIBEINSIGHT_TEST_S3_ENDPOINT:-http://127.0.0.1:9900}"
if curl -fsS -o /dev/null "$endpoint/" 2>/dev/null; then echo "$endpoint"; exit 0; fi
if ! command -v moto_server >/dev/null; then
  echo "ensure-s3: installing moto's S3 server from PyPI" >&2
  python3 -m pip install -q 'moto[server]' >&2
fi
mkdir -p var
port="${endpoint##*:}"
nohup moto_server -H 127.0.0.1 -p "$port" >var/moto.log 2>&1 &
for _ in $(seq 1 50); do
  if curl -fsS -o /dev/null "$endpoint/" 2>/dev/null; then echo "$endpoint"; exit 0; fi
  sleep 0.2
done
echo "ensure-s3: moto_server did not start; see var/moto.log" >&2
exit 1
