"""HD voices and SSML written by people, through Home Assistant, against the emulator.

The emulator refuses (400) every element Azure's "High definition voices" page
says HD voices do not support, and SSML without version, namespace or
xml:lang; so a 200 here proves that nothing refused was sent.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_RATE,
    CONF_STYLE,
    CONF_VOICE,
    CONF_VOLUME,
    DOMAIN,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import Emulator

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS
from .tts_calls import speak, stream, text_stream

HD_VOICE = "en-US-Ava:DragonHDLatestNeural"


def sent_ssml(emulator: Emulator) -> str:
    request = emulator.requests_for("synthesis")[-1]
    assert request.status == 200
    return request.body.decode()


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "options",
    [
        {"rate": "+10%"},
        {"pitch": "-5%"},
        {"volume": 20},
        {"style": "cheerful"},
        {"role": "Boy"},
        {"style_degree": 1.5},
    ],
)
async def test_hd_voice_refuses_style_and_prosody_before_any_request(
    hass: HomeAssistant, emulator: Emulator, options: dict[str, Any]
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, "Hello there.", options={CONF_VOICE: HD_VOICE, **options})

    assert err.value.translation_key == "hd_voice_unsupported_option"
    assert err.value.translation_placeholders == {
        "voice": HD_VOICE,
        "option": next(iter(options)),
    }
    assert emulator.requests_for("synthesis") == []
    # Without the option, the same call speaks.
    await speak(hass, "Hello there.", options={CONF_VOICE: HD_VOICE})
    assert 'name="en-US-Ava:DragonHDLatestNeural"' in sent_ssml(emulator)


@pytest.mark.parametrize(
    "mock_config_entry_options",
    [{CONF_VOICE: "zh-cn-YunxiNeural", CONF_STYLE: "cheerful", CONF_RATE: 20}],
)
@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("via", ["speak", "stream"])
async def test_entry_settings_are_never_sent_to_an_hd_voice(
    hass: HomeAssistant, emulator: Emulator, via: str
) -> None:
    if via == "speak":
        await speak(hass, "Hello there.", options={CONF_VOICE: HD_VOICE})
    else:
        await stream(
            hass,
            text_stream("Hello ", "there. ", "Bye."),
            options={CONF_VOICE: HD_VOICE},
        )

    ssml = sent_ssml(emulator)
    assert "prosody" not in ssml
    assert "express-as" not in ssml
    # The default voice keeps them.
    await speak(hass, "你好。")
    ssml = sent_ssml(emulator)
    assert 'style="cheerful"' in ssml
    assert 'rate="+20%"' in ssml


@pytest.mark.parametrize(
    "mock_config_entry_options",
    [{CONF_VOICE: "zh-cn-YunxiNeural", CONF_STYLE: "cheerful", CONF_VOLUME: -10}],
)
@pytest.mark.usefixtures("init_integration")
async def test_a_bare_speak_is_spoken_with_the_entry_voice_and_settings(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, '<speak>你好 <break time="500ms"/> 世界</speak>')

    request = emulator.requests_for("synthesis")[-1]
    assert request.status == 200
    assert request.voice == "zh-cn-YunxiNeural"
    ssml = request.body.decode()
    assert 'version="1.0"' in ssml
    assert 'xml:lang="zh-cn"' in ssml
    assert '<mstts:express-as style="cheerful">' in ssml
    assert '<prosody volume="-10%">' in ssml
    assert '<break time="500ms"/>' in ssml


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("via", ["speak", "stream"])
async def test_a_partial_document_with_some_voices_is_completed(
    hass: HomeAssistant, emulator: Emulator, via: str
) -> None:
    document = (
        "<speak>欢迎。<voice name='en-US-JennyNeural'>Welcome home.</voice></speak>"
    )
    if via == "speak":
        await speak(hass, document)
    else:
        await stream(hass, text_stream(document[:9], document[9:]))

    request = emulator.requests_for("synthesis")[-1]
    assert request.status == 200
    assert request.spoken_text == "欢迎。Welcome home."
    assert len(emulator.requests_for("synthesis")) == 1


@pytest.mark.usefixtures("init_integration")
async def test_an_unknown_voice_in_ssml_is_refused_with_the_closest_names(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    document = (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xml:lang="en-US"><voice name="en-US-JenyNeural">Hi</voice></speak>'
    )
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, document)

    assert err.value.translation_key == "unknown_ssml_voice"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["voice"] == "en-US-JenyNeural"
    assert placeholders["suggestions"].startswith("en-US-JennyNeural")
    assert emulator.requests_for("synthesis") == []
    # The suggested name speaks.
    await speak(hass, document.replace("JenyNeural", "JennyNeural"))
    assert sent_ssml(emulator) == document.replace("JenyNeural", "JennyNeural")


@pytest.mark.usefixtures("init_integration")
async def test_ssml_asking_an_hd_voice_for_a_break_is_refused(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    document = (
        f"<speak><voice name='{HD_VOICE}'>Hi <break time='1s'/> there</voice></speak>"
    )
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, document)

    assert err.value.translation_key == "hd_voice_unsupported_element"
    assert err.value.translation_placeholders == {
        "voice": HD_VOICE,
        "element": "break",
    }
    assert emulator.requests_for("synthesis") == []


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "message",
    ["<3 you", "<<Important>> the door is open", "<![CDATA[ raw ]]> text"],
)
@pytest.mark.parametrize("via", ["speak", "stream"])
async def test_text_that_starts_with_a_bracket_is_spoken(
    hass: HomeAssistant, emulator: Emulator, message: str, via: str
) -> None:
    if via == "speak":
        await speak(hass, message)
    else:
        await stream(hass, text_stream(*message.partition(" ")))

    assert emulator.requests_for("synthesis")[-1].spoken_text == message


@pytest.fixture
def mock_config_entry_options() -> dict[str, Any]:
    """The entry's options; a test parametrizes this name to set its own."""
    return DEFAULT_OPTIONS


@pytest.fixture
def mock_config_entry(mock_config_entry_options: dict[str, Any]) -> MockConfigEntry:
    """The Azure China entry of conftest.py, with `mock_config_entry_options`."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options=mock_config_entry_options,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
    )
