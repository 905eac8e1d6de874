"""Convai's standalone text-to-speech API: synthesis and the voice list.

Sources: the seed convai-tts-api.txt (POST /tts/) and Convai's "Voice List
API" page (GET /tts/get_available_voices, its shape and its 400/401/500).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import re
from typing import Any

from .audio import synthesize_audio_async
from .exchange import Context, Reply, json_reply
from .voices import CONVAI_DEFAULT_WAV_RATE, CONVAI_WAV_RATES

# The sample code sends CONVAI-API-KEY, the header table spells CONVAI-API_KEY.
KEY_HEADERS = ("CONVAI-API-KEY", "CONVAI-API_KEY")
_WAV_FORMATS = {
    22050: "riff-22050hz-16bit-mono-pcm",
    24000: "riff-24khz-16bit-mono-pcm",
}
_MP3_FORMAT = "audio-24khz-48kbitrate-mono-mp3"


@dataclass(slots=True)
class ConvaiPayload:
    """The JSON body of a synthesis request, as far as it could be read."""

    fields: dict[str, Any] | None
    error: str | None


def describe_synthesis(context: Context) -> ConvaiPayload:
    """Fill in the record's voice, transcript and encoding from the JSON body."""
    try:
        fields = json.loads(context.body)
    except ValueError as err:
        return ConvaiPayload(None, f"JSON parse error - {err}")
    if not isinstance(fields, dict):
        return ConvaiPayload(None, "Invalid data. Expected a dictionary.")
    record = context.record
    record.voice = fields.get("voice") if isinstance(fields.get("voice"), str) else None
    transcript = fields.get("transcript")
    record.spoken_text = transcript if isinstance(transcript, str) else None
    encoding = fields.get("encoding")
    record.output_format = encoding if isinstance(encoding, str) else None
    return ConvaiPayload(fields, None)


# The Voice List API page's refusals ("400 : API key not found", "401 : Invalid
# API key provided"), used for synthesis too. The page documents no bodies: a
# JSON object with the title under "ERROR" is an assumption.
MISSING_KEY = (400, "API key not found")
WRONG_KEY = (401, "Invalid API key provided")


def _forbidden(context: Context) -> Reply | None:
    headers = context.request.headers
    key = next((headers[name] for name in KEY_HEADERS if name in headers), None)
    if key is None:
        status, reason = MISSING_KEY
    elif key not in context.emulator.convai_keys:
        status, reason = WRONG_KEY
    else:
        return None
    return json_reply(status, {"ERROR": reason})


async def handle_voices(context: Context) -> Reply:
    """GET /tts/get_available_voices."""
    if denied := _forbidden(context):
        return denied
    return json_reply(200, context.emulator.convai_voices)


async def handle_synthesis(context: Context, payload: ConvaiPayload) -> Reply:
    """POST /tts/: JSON in, WAV or MP3 out."""
    if denied := _forbidden(context):
        return denied
    content_type = context.request.headers.get("Content-Type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return json_reply(
            415, {"detail": f'Unsupported media type "{content_type}" in request.'}
        )
    if payload.fields is None:
        return json_reply(400, {"detail": payload.error})
    fields = payload.fields
    # Convai reports missing fields with HTTP 200 and a JSON body, not audio.
    for required in ("transcript", "voice"):
        value = fields.get(required)
        if not isinstance(value, str) or not value.strip():
            return json_reply(200, {"ERROR": f"{required} is required"})
    encoding = fields.get("encoding", "wav")
    if not isinstance(encoding, str) or encoding.lower() not in ("wav", "mp3"):
        return json_reply(
            400, {"result": "Incorrect encoding. Supported encodings are wav and mp3."}
        )
    encoding = encoding.lower()
    emulator = context.emulator
    found = emulator.find_convai_voice(fields["voice"])
    if found is None:
        return json_reply(
            400,
            {
                "result": f"Invalid voice {fields['voice']!r}. Choose a voice_value from the voice list."
            },
        )
    section, _ = found
    if encoding == "mp3" and fields["voice"] in emulator.convai_mp3_unsupported:
        return json_reply(
            400, {"result": "Incorrect encoding. MP3 is not supported for this voice."}
        )
    if encoding == "mp3":
        output_format, content_type = _MP3_FORMAT, "audio/mpeg"
    else:
        rate = CONVAI_WAV_RATES.get(section, CONVAI_DEFAULT_WAV_RATE)
        output_format, content_type = _WAV_FORMATS[rate], "audio/wav"
    audio = await synthesize_audio_async(
        fields["transcript"],
        output_format,
        emulator.speak,
        ms_per_character=emulator.ms_per_character,
    )
    context.record.synthesized = True
    # The recogniser knows what the emulator said (see recognition.py).
    emulator.remember_synthesis(
        fields["transcript"],
        speak=emulator.speak,
        ms_per_character=emulator.ms_per_character,
    )
    headers = {}
    if isinstance(filename := fields.get("filename"), str) and filename:
        safe_name = re.sub(r"[^\w. -]", "_", filename)  # never let it break the header
        headers["Content-Disposition"] = (
            f'attachment; filename="{safe_name}.{encoding}"'
        )
    return Reply(200, audio, content_type, headers=headers, is_audio=True)
