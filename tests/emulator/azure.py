"""Azure AI Speech: access tokens, the voice list and synthesis."""

from __future__ import annotations

import json
import uuid

from .audio import find_output_format, synthesize_audio_async
from .exchange import (
    AZURE_UNAUTHORIZED_MESSAGE,
    Context,
    Reply,
    azure_error,
    azure_rate_limited,
    text_reply,
)
from .ssml import SsmlCheck, check_ssml

SSML_MEDIA_TYPE = "application/ssml+xml"
MAX_USER_AGENT_LENGTH = 254  # "fewer than 255 characters"


def describe_synthesis(context: Context) -> SsmlCheck:
    """Fill in the record's voice, text and format before anything can fail."""
    check = check_ssml(
        context.body,
        context.emulator.find_voice,
        require_namespace=context.emulator.require_ssml_namespace,
    )
    context.record.voice = check.first_voice
    context.record.spoken_text = check.spoken_text
    context.record.output_format = context.request.headers.get(
        "X-Microsoft-OutputFormat"
    )
    return check


# Who pays for a request that needs no key: an open container.
_NO_RESOURCE = ""


def authenticate(context: Context) -> str | None:
    """The resource key a request is made with (directly or via its token).

    None means 401. Keyless container requests answer _NO_RESOURCE.
    """
    emulator, site, headers = context.emulator, context.site, context.request.headers
    if site.cloud == "container" and not emulator.container_requires_key:
        return _NO_RESOURCE
    key = headers.get("Ocp-Apim-Subscription-Key")
    if key is not None:
        # A key that is present decides, right or wrong, as Azure's gateway does.
        return key if emulator.key_is_valid(key, site) else None
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if site.cloud == "container" or scheme.lower() != "bearer":
        return None
    return emulator.token_key(token.strip(), site)


def _unauthorized() -> Reply:
    return azure_error(401, AZURE_UNAUTHORIZED_MESSAGE)


async def handle_token(context: Context) -> Reply:
    """POST /sts/v1.0/issueToken: exchange a resource key for a 10-minute token."""
    key = context.request.headers.get("Ocp-Apim-Subscription-Key")
    if key is None or not context.emulator.key_is_valid(key, context.site):
        return _unauthorized()
    return text_reply(200, context.emulator.issue_token(context.site, key))


async def handle_voices(context: Context) -> Reply:
    """GET .../voices/list: the voice list JSON."""
    if authenticate(context) is None:
        return _unauthorized()
    body = json.dumps(context.emulator.voices, ensure_ascii=False).encode()
    return Reply(200, body, "application/json; charset=utf-8")


async def handle_synthesis(context: Context, check: SsmlCheck) -> Reply:
    """POST .../cognitiveservices/v1: SSML in, audio out."""
    key = authenticate(context)
    if key is None:
        return _unauthorized()
    emulator = context.emulator
    # The gateway throttles before the speech service reads the request, so
    # refused SSML counts as a transaction too (assumption, see FIDELITY.md).
    # Containers have no F0 quota.
    if context.site.cloud != "container" and (
        retry_after := emulator.take_transaction(key)
    ):
        return azure_rate_limited(retry_after)
    headers = context.request.headers
    media_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type != SSML_MEDIA_TYPE:
        return text_reply(
            415, f"Unsupported media type; Content-Type must be {SSML_MEDIA_TYPE}."
        )
    format_name = headers.get("X-Microsoft-OutputFormat")
    if not format_name:
        return text_reply(400, "The X-Microsoft-OutputFormat header is required.")
    audio_format = find_output_format(format_name)
    if audio_format is None:
        return text_reply(
            400,
            f"Unsupported output format {format_name!r} in X-Microsoft-OutputFormat.",
        )
    user_agent = headers.get("User-Agent", "")
    if not user_agent.strip():
        return text_reply(400, "The User-Agent header is required.")
    if len(user_agent) > MAX_USER_AGENT_LENGTH:
        return text_reply(
            400, "The User-Agent header must be fewer than 255 characters."
        )
    if check.error is not None:
        return text_reply(400, check.error)
    audio = await synthesize_audio_async(
        check.spoken_text or "",
        audio_format.name,
        emulator.speak,
        ms_per_character=emulator.ms_per_character,
    )
    context.record.synthesized = True
    # The recogniser knows what the emulator said (see recognition.py).
    emulator.remember_synthesis(
        check.spoken_text or "",
        speak=emulator.speak,
        ms_per_character=emulator.ms_per_character,
    )
    return Reply(
        200,
        audio,
        audio_format.content_type,
        headers={"X-RequestId": uuid.uuid4().hex},
        is_audio=True,
    )
