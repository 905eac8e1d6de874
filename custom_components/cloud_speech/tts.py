"""Cloud Speech TTS entities, one per voice profile: HA's side of a synthesizer."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
import hashlib
import time
from typing import Any, override

from homeassistant.components.tts import (
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_BYTES,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_VOICE,
    TextToSpeechEntity,
    TTSAudioResponse,
    Voice as TtsVoice,
)
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CloudSpeechConfigEntry
from .const import (
    CONF_LANGUAGE,
    CONF_VOICE,
    DOMAIN,
    FALLBACK_LANGUAGE,
    SUBENTRY_VOICE_PROFILE,
    VOICE_SETTINGS,
)
from .fallback import is_outage
from .helpers import call_error
from .speech.azure import AzureSpeechClient
from .speech.azure_synthesizer import AzurePlan, AzureSynthesizer
from .speech.convai import ConvaiClient
from .speech.convai_synthesizer import ConvaiPlan, ConvaiSynthesizer
from .speech.errors import (
    SpeechAuthenticationError,
    SpeechError,
)
from .speech.models import Voice
from .speech.streams import Replayable
from .speech.synthesis import AudioStream, SynthesisRequest, Synthesizer
from .speech.voices import normalize_language_tag, voice_label

# Synthesis runs in the service; HA need not serialize calls to it.
PARALLEL_UPDATES = 0

# Set by the entity itself, to tell HA's cache when its profile changes.
ATTR_PROFILE = "profile"

# HA asks several times as one run starts; one connection is enough.
PREPARE_INTERVAL = 1.0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CloudSpeechConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a TTS entity for each voice profile of the entry."""
    client = entry.runtime_data.client
    # Read at each call: the voice list is refreshed while the entities live.
    voices = lambda: entry.runtime_data.voices  # noqa: E731
    for profile in entry.subentries.values():
        if profile.subentry_type != SUBENTRY_VOICE_PROFILE:
            continue
        entity: CloudSpeechEntity[Any]
        if isinstance(client, ConvaiClient):
            entity = ConvaiSpeechEntity(
                entry, profile, ConvaiSynthesizer(client, voices)
            )
        else:
            entity = AzureSpeechEntity(entry, profile, AzureSynthesizer(client, voices))
        # One call per profile: the subentry applies to the whole call.
        async_add_entities([entity], config_subentry_id=profile.subentry_id)


class CloudSpeechEntity[PlanT](TextToSpeechEntity):
    """Speaks as one voice profile, through the entry's service.

    Named after its profile, as core's subentry TTS entities are (openai_
    conversation): TTS refuses an engine without a name of its own, so the
    entity cannot take its device's name with a name of None.
    """

    _attr_has_entity_name = False
    _attr_translation_key = "speech"
    _manufacturer: str
    _model: str

    def __init__(
        self,
        entry: CloudSpeechConfigEntry,
        profile: ConfigSubentry,
        synthesizer: Synthesizer[PlanT],
    ) -> None:
        """Create the entity of `profile`, speaking through `synthesizer`."""
        self._entry = entry
        self._profile = profile.data
        self._synthesizer = synthesizer
        self._prepared_at = -PREPARE_INTERVAL
        # A profile migrated from a version 1 entry has the entry's id: the
        # entity keeps the unique id and device it had then.
        self._attr_unique_id = profile.subentry_id
        self._attr_name = profile.title
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, profile.subentry_id)},
            name=profile.title,
            manufacturer=self._manufacturer,
            model=self._model,
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def _default_voice(self) -> Voice | None:
        return self._entry.runtime_data.voices.get(self._profile.get(CONF_VOICE, ""))

    @property
    @override
    def supported_languages(self) -> list[str]:
        """Every language some voice speaks, secondary locales included."""
        return self._entry.runtime_data.voices.languages

    @property
    @override
    def default_language(self) -> str:
        """The default voice's own language."""
        if (voice := self._default_voice) is not None:
            # The language chosen with the voice (a multilingual voice may have
            # been chosen for one of its secondary languages), else its own.
            configured = self._profile.get(CONF_LANGUAGE)
            if configured and voice.speaks(configured):
                return normalize_language_tag(configured)
            return normalize_language_tag(voice.locale)
        languages = self.supported_languages
        return FALLBACK_LANGUAGE if FALLBACK_LANGUAGE in languages else languages[0]

    @property
    @override
    def default_options(self) -> Mapping[str, Any]:
        """Ask HA for the profile's format, so it does not convert it.

        HA caches audio by message, language and options: the fingerprint of
        the profile keeps audio made with its previous voice or prosody from
        being served after they change. The entity ignores it otherwise.
        """
        fingerprint = hashlib.blake2s(
            repr(sorted(self._profile.items())).encode(), digest_size=6
        ).hexdigest()
        if generation := self._entry.runtime_data.fallback.cache_generation:
            # Audio cached while another engine spoke must not be served as
            # ours (fallback.Fallback.cache_generation).
            fingerprint = f"{fingerprint}.{generation}"
        return {
            ATTR_PREFERRED_FORMAT: self._synthesizer.configured_extension(
                self._request("", {})
            ),
            ATTR_PROFILE: fingerprint,
        }

    @override
    def async_get_supported_voices(self, language: str) -> list[TtsVoice]:
        """Voices for `language`, the default voice first."""
        voices = self._entry.runtime_data.voices.voices_for(language)
        default = self._default_voice
        if default in voices:
            voices.remove(default)
            voices.insert(0, default)
        return [TtsVoice(voice.short_name, voice_label(voice)) for voice in voices]

    @override
    def async_supports_streaming_input(self) -> bool:
        """Yes. HA asks as an Assist run or a fetch starts: open the way meanwhile.

        The reply is spoken only once its writer has 60 characters, seconds
        later; the connection (and a token, in token mode) is ready by then,
        so the first request pays one round trip, not three.
        """
        client = self._entry.runtime_data.client
        now = time.monotonic()
        if (
            isinstance(client, AzureSpeechClient)
            and now - self._prepared_at > PREPARE_INTERVAL
        ):
            self._prepared_at = now
            self._entry.async_create_background_task(
                self.hass,
                client.async_prepare_synthesis(),
                f"{DOMAIN} prepare {self.entity_id}",
            )
        return True

    @override
    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream speech for text that may still be arriving.

        When the service fails before its first audio, and the failure is
        not the caller's, the message goes to the fallback engine if one is
        chosen and available: the text that has arrived, then the rest.
        """
        plan = self.plan(request.language, request.options)
        # With a fallback, the text is read through a replay: the other engine
        # may need it from the start. Without, exactly as it arrives.
        replay = (
            None
            if self._entry.runtime_data.fallback.available_engine() is None
            else Replayable(request.message_gen, eager=True)
        )
        try:
            audio = await self._synthesizer.stream(
                plan, request.message_gen if replay is None else replay.read()
            )
        except SpeechError as err:
            if replay is None or not is_outage(err):
                if replay is not None:
                    replay.close()
                raise self._failure(err) from err
            # Failed before any audio (Convai's MP3 probe): the format asked for.
            extension = str(request.options.get(ATTR_PREFERRED_FORMAT) or "mp3")
            return TTSAudioResponse(
                extension, self._spoken_by_fallback(err, extension, request, replay)
            )
        except BaseException:
            if replay is not None:
                replay.close()  # cancelled while waiting: stop reading the text
            raise
        return TTSAudioResponse(audio.extension, self._chunks(audio, request, replay))

    def plan(self, language: str, options: Mapping[str, Any]) -> PlanT:
        """Validate a call's options and decide everything about it.

        Raises ServiceValidationError; nothing has been sent at that point.
        """
        request = self._request(language, options)
        voice: Voice | None = None
        try:
            voice = self._synthesizer.choose_voice(request)
            return self._synthesizer.prepare(request, voice)
        except SpeechError as err:
            raise call_error(err, voice) from err

    def _request(self, language: str, options: Mapping[str, Any]) -> SynthesisRequest:
        return SynthesisRequest(language, options, self._profile)

    async def _chunks(
        self,
        audio: AudioStream,
        request: TTSAudioRequest,
        replay: Replayable[str] | None,
    ) -> AsyncGenerator[bytes]:
        """Yield the audio; any failure raises, so HA never caches a partial file.

        The first chunk carries the service's first audio (`Synthesizer`), so
        a failure before it can still go to the fallback (`replay` is kept).
        """
        started = False
        outage: SpeechError | None = None
        try:
            # Closed at once when the listener leaves: requests stop now,
            # not whenever the garbage collector gets to them.
            async with aclosing(audio.chunks) as chunks:
                async for chunk in chunks:
                    if not started:
                        started = True
                        self._entry.runtime_data.fallback.record_success()
                    yield chunk
        except SpeechError as err:
            if started or replay is None or not is_outage(err):
                raise self._failure(err) from err
            outage = err
        finally:
            # The text is needed no more, unless the fallback speaks it.
            if outage is None and replay is not None:
                replay.close()
        if outage is not None and replay is not None:
            async for chunk in self._spoken_by_fallback(
                outage, audio.extension, request, replay
            ):
                yield chunk

    async def _spoken_by_fallback(
        self,
        err: SpeechError,
        extension: str,
        request: TTSAudioRequest,
        replay: Replayable[str],
    ) -> AsyncGenerator[bytes]:
        """The whole message, spoken by the fallback engine in `extension`."""
        fallback = self._entry.runtime_data.fallback
        fallback.record_fallback(str(self._failure(err)))
        options = {**request.options, ATTR_PREFERRED_FORMAT: extension}
        try:
            response = await fallback.async_speak(
                request.language, options, replay.read()
            )
            async for chunk in response.data_gen:
                yield chunk
        finally:
            replay.close()

    def _failure(self, err: SpeechError) -> HomeAssistantError:
        """Record a failure while speaking, and say it in the user's words."""
        self._entry.runtime_data.last_error = str(err)
        if isinstance(err, SpeechAuthenticationError):
            # Starting reauth is idempotent: HA keeps one flow per entry.
            self._entry.async_start_reauth(self.hass)
        return call_error(err)


class AzureSpeechEntity(CloudSpeechEntity[AzurePlan]):
    """Speaks through Azure AI Speech."""

    _manufacturer = "Microsoft"
    _model = "Azure AI Speech"
    _attr_supported_options = [
        ATTR_VOICE,
        *VOICE_SETTINGS,
        ATTR_PREFERRED_FORMAT,
        ATTR_PREFERRED_SAMPLE_RATE,
        ATTR_PREFERRED_SAMPLE_CHANNELS,
        ATTR_PREFERRED_SAMPLE_BYTES,
    ]


class ConvaiSpeechEntity(CloudSpeechEntity[ConvaiPlan]):
    """Speaks through Convai."""

    _manufacturer = "Convai"
    _model = "Convai TTS"
    _attr_supported_options = [ATTR_VOICE, ATTR_PREFERRED_FORMAT]
