"""Selectors and per-voice form schemas, shared by the flows that make voice profiles.

The config flow makes the first profile, the voice profile subentry flow adds
and changes profiles, and the "no voice profile" repair adds one.

What a form may offer comes from the voice list and from speech/ssml.py's
ranges and rules, so a form never accepts what a call would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, NamedTuple

from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import language as language_util
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from .const import (
    CONF_ENCODING,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_PITCH,
    CONF_RATE,
    CONF_ROLE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_CONVAI_ENCODING,
    DEFAULT_OUTPUT_FORMAT,
    FALLBACK_LANGUAGE,
    OUTPUT_FORMATS,
    SERVICE_CONVAI,
    VOICE_SETTINGS,
)
from .helpers import NEEDS_STYLE_KEYS
from .speech.convai import ConvaiEncoding
from .speech.errors import StyleRequiredError
from .speech.models import Voice, VoiceSettings
from .speech.ssml import (
    PITCH_PERCENT_RANGE,
    RATE_PERCENT_RANGE,
    STYLE_DEGREE_RANGE,
    VOLUME_PERCENT_RANGE,
    validate_settings,
)
from .speech.voices import VoiceCatalog, normalize_language_tag, voice_label


def _percent_slider(limits: tuple[Decimal, Decimal]) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=float(limits[0]),
            max=float(limits[1]),
            step=1,
            mode=NumberSelectorMode.SLIDER,
            unit_of_measurement="%",
        )
    )


# The ranges speech/ssml.py enforces per call (as Azure documents them): one
# source of truth for the form and for tts.speak's options.
STYLE_DEGREE_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        min=float(STYLE_DEGREE_RANGE[0]),
        max=float(STYLE_DEGREE_RANGE[1]),
        step=0.01,
        mode=NumberSelectorMode.BOX,
    )
)
RATE_SELECTOR: Final = _percent_slider(RATE_PERCENT_RANGE)
PITCH_SELECTOR: Final = _percent_slider(PITCH_PERCENT_RANGE)
VOLUME_SELECTOR: Final = _percent_slider(VOLUME_PERCENT_RANGE)


def dropdown(
    options: list[str] | list[SelectOptionDict],
    translation_key: str | None = None,
) -> SelectSelector:
    """A drop-down list; `translation_key` names strings.json's labels for it."""
    config = SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    if translation_key is not None:
        config["translation_key"] = translation_key
    return SelectSelector(config)


def choice_list(options: list[str], translation_key: str) -> SelectSelector:
    """A few choices, all in view, labelled by strings.json's `translation_key`."""
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            translation_key=translation_key,
            mode=SelectSelectorMode.LIST,
        )
    )


def default_language(
    catalog: VoiceCatalog, language: str, country: str | None
) -> str | None:
    """Return the offered language closest to Home Assistant's (``zh-Hans`` → ``zh-CN``)."""
    languages = catalog.languages
    if best := language_util.matches(language, languages, country=country):
        in_country = [tag for tag in best if country and tag.endswith(f"-{country}")]
        if not in_country and FALLBACK_LANGUAGE in best:
            # English in a country with no English voices of its own (HA matches
            # the variants alphabetically, which would give en-AU): en-US.
            return FALLBACK_LANGUAGE
        return best[0]
    if FALLBACK_LANGUAGE in languages:
        return FALLBACK_LANGUAGE
    return languages[0] if languages else None


def language_options(catalog: VoiceCatalog) -> list[SelectOptionDict]:
    """Every language, labelled with the service's name for it when known."""
    names: dict[str, str] = {}
    for voice in catalog.voices:
        if voice.locale_name:
            names.setdefault(normalize_language_tag(voice.locale), voice.locale_name)
    return [
        SelectOptionDict(
            value=tag, label=f"{tag} — {names[tag]}" if tag in names else tag
        )
        for tag in catalog.languages
    ]


def voice_options(voices: Sequence[Voice]) -> list[SelectOptionDict]:
    """Voices for a picker."""
    return [
        SelectOptionDict(value=voice.short_name, label=voice_label(voice))
        for voice in voices
    ]


def language_schema(catalog: VoiceCatalog) -> vol.Schema:
    """The language picker of a new service."""
    return vol.Schema(
        {vol.Required(CONF_LANGUAGE): dropdown(language_options(catalog))}
    )


def voice_schema(voices: Sequence[Voice]) -> vol.Schema:
    """The voice picker of a new service."""
    return vol.Schema({vol.Required(CONF_VOICE): dropdown(voice_options(voices))})


def profile_schema(catalog: VoiceCatalog) -> vol.Schema:
    """A profile's name, and the language its voices are offered for."""
    return vol.Schema(
        {
            vol.Optional(CONF_NAME): TextSelector(),
            vol.Required(CONF_LANGUAGE): dropdown(language_options(catalog)),
        }
    )


class FormatChoice(NamedTuple):
    """The audio format field of a service's profiles."""

    key: str
    formats: list[str]
    default: str


def format_choice(service: str | None) -> FormatChoice:
    """Convai answers in an encoding, Azure in one of its output formats."""
    if service == SERVICE_CONVAI:
        return FormatChoice(
            CONF_ENCODING,
            [encoding.value for encoding in ConvaiEncoding],
            DEFAULT_CONVAI_ENCODING,
        )
    return FormatChoice(CONF_OUTPUT_FORMAT, list(OUTPUT_FORMATS), DEFAULT_OUTPUT_FORMAT)


def voice_and_format_schema(
    voices: Sequence[Voice], choice: FormatChoice
) -> vol.Schema:
    """A voice among `voices`, and the audio format it answers in."""
    return vol.Schema(
        {
            vol.Required(CONF_VOICE): dropdown(voice_options(voices)),
            vol.Required(choice.key): dropdown(
                choice.formats, translation_key=choice.key
            ),
        }
    )


def suggested_voice_and_format(
    voices: Sequence[Voice], choice: FormatChoice, profile: Mapping[str, Any]
) -> dict[str, Any]:
    """The profile's voice if offered (else the first) and its format."""
    names = [voice.short_name for voice in voices]
    voice = profile.get(CONF_VOICE)
    return {
        CONF_VOICE: voice if voice in names else names[0],
        choice.key: profile.get(choice.key) or choice.default,
    }


def needs_voice_settings(service: str | None, voice: Voice) -> bool:
    """Whether a profile of `voice` asks how it speaks.

    Convai voices have no settings; HD voices take no style or prosody.
    """
    return service != SERVICE_CONVAI and not voice.is_high_definition


def chosen_voice(catalog: VoiceCatalog, short_name: str) -> Voice:
    """The voice a picker returned; its selector only accepts the catalog's voices."""
    if (voice := catalog.get(short_name)) is None:
        raise KeyError(short_name)
    return voice


def voice_settings_schema(voice: Voice) -> vol.Schema:
    """How `voice` may speak: only its own styles and roles are offered.

    A role and a style degree only qualify a style (Azure ignores
    mstts:express-as without one), so a voice without styles gets neither.
    """
    schema: dict[vol.Marker, Any] = {}
    if voice.styles:
        schema[vol.Optional(CONF_STYLE)] = dropdown(list(voice.styles))
        schema[vol.Optional(CONF_STYLE_DEGREE)] = STYLE_DEGREE_SELECTOR
    if voice.roles and voice.styles:
        schema[vol.Optional(CONF_ROLE)] = dropdown(list(voice.roles))
    schema[vol.Optional(CONF_RATE)] = RATE_SELECTOR
    schema[vol.Optional(CONF_PITCH)] = PITCH_SELECTOR
    schema[vol.Optional(CONF_VOLUME)] = VOLUME_SELECTOR
    return vol.Schema(schema)


def voice_settings_for(voice: Voice, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the voice settings in `settings` that `voice` can use.

    A style or role chosen for another voice is dropped, and the style
    degree with it when the style goes.
    """
    kept = {
        key: value
        for key in VOICE_SETTINGS
        if (value := settings.get(key)) is not None and value != ""
    }
    if (
        CONF_STYLE in kept and kept[CONF_STYLE] not in voice.styles
    ) or not voice.styles:
        kept.pop(CONF_STYLE, None)
        kept.pop(CONF_STYLE_DEGREE, None)
    if (CONF_ROLE in kept and kept[CONF_ROLE] not in voice.roles) or not voice.styles:
        kept.pop(CONF_ROLE, None)
    for key in (CONF_RATE, CONF_PITCH, CONF_VOLUME):
        # The sliders step by whole percents: store 10, not 10.0.
        if isinstance(value := kept.get(key), float) and value.is_integer():
            kept[key] = int(value)
    return kept


def voice_settings_errors(voice: Voice, settings: Mapping[str, Any]) -> dict[str, str]:
    """speech/ssml.py's rule that a role or a style degree needs a style, per field.

    Each such setting is checked on its own, with the style, so that the form
    marks every field at fault at once rather than one per attempt.
    """
    errors: dict[str, str] = {}
    for field in NEEDS_STYLE_KEYS:
        if settings.get(field) is None:
            continue
        try:
            validate_settings(
                VoiceSettings(
                    voice.short_name,
                    style=settings.get(CONF_STYLE),
                    **{field: settings[field]},
                ),
                voice,
            )
        except StyleRequiredError as err:
            errors[err.field] = NEEDS_STYLE_KEYS[err.field]
    return errors


def profile_with_voice(voice: Voice, profile: Mapping[str, Any]) -> dict[str, Any]:
    """`profile` with `voice` chosen, and a default language it speaks."""
    chosen = {**profile, CONF_VOICE: voice.short_name}
    language = profile.get(CONF_LANGUAGE)
    if not language or not voice.speaks(language):
        # A default language the voice cannot speak would make the entity
        # pick another voice than the one chosen.
        chosen[CONF_LANGUAGE] = normalize_language_tag(voice.locale)
    return chosen


def without_voice_settings(profile: Mapping[str, Any]) -> dict[str, Any]:
    """`profile` less how a voice was set to speak (style, prosody)."""
    return {key: value for key, value in profile.items() if key not in VOICE_SETTINGS}


def profile_title(name: str | None, voice: Voice) -> str:
    """The name typed, else the voice's own: ``Jenny``."""
    return (name or "").strip() or voice.display_name or voice.short_name
