#!/usr/bin/env bash
# Regenerate the committed audio clips in fixtures/ (run on a host with ffmpeg
# and libopus, e.g. Debian bookworm: apt-get install -y ffmpeg).
#
# Only Opus needs clips: WAV, raw PCM, A-law/mu-law, MP3 (silent frames) and
# AMR-WB are generated in Python by audio.py. Each clip is half a second of a
# quiet 440 Hz tone, encoded bit-exactly without metadata so reruns give the
# same bytes. audio-*-opus ("Opus without container") is stored as Ogg at the
# format's bit rate; audio.py strips the Ogg framing when serving it.
set -euo pipefail
cd "$(dirname "$0")/fixtures"

encode() { # encode RATE BITRATE MUXER FILE
  ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "sine=frequency=440:sample_rate=$1:duration=0.5" \
    -af "volume=0.1" -ac 1 -ar "$1" \
    -c:a libopus -b:a "$2" \
    -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
    -f "$3" "$4"
}

encode 16000 24k ogg ogg-16khz-16bit-mono-opus.ogg
encode 24000 24k ogg ogg-24khz-16bit-mono-opus.ogg
encode 48000 32k ogg ogg-48khz-16bit-mono-opus.ogg
encode 16000 24k webm webm-16khz-16bit-mono-opus.webm
encode 24000 24k webm webm-24khz-16bit-24kbps-mono-opus.webm
encode 24000 32k webm webm-24khz-16bit-mono-opus.webm
encode 16000 32k ogg audio-16khz-16bit-32kbps-mono-opus.ogg
encode 24000 24k ogg audio-24khz-16bit-24kbps-mono-opus.ogg
encode 24000 48k ogg audio-24khz-16bit-48kbps-mono-opus.ogg
ls -l
