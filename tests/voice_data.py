"""Voices of the emulator's lists, as the clients read them: one copy for every test.

Each is what `speech.azure.parse_voice_list` (or `speech.convai`'s) makes of
the emulator's entry (tests/emulator/voices.py), so a test can compare a
parsed voice with one of these as a whole.
"""

from __future__ import annotations

from typing import Final

from custom_components.cloud_speech.speech.models import Gender, Voice

# --- Azure ---------------------------------------------------------------------

YUNXI_STYLES: Final = (
    "narration-relaxed",
    "embarrassed",
    "fearful",
    "cheerful",
    "disgruntled",
    "serious",
    "angry",
    "sad",
    "depressed",
    "chat",
    "assistant",
    "newscast",
)
YUNXI_ROLES: Final = ("Narrator", "YoungAdultMale", "Boy")
#: Styles and roles; Azure spells its locale "zh-cn".
YUNXI: Final = Voice(
    short_name="zh-cn-YunxiNeural",
    display_name="Yunxi",
    locale="zh-cn",
    gender=Gender.MALE,
    local_name="云希",
    locale_name="Chinese (Mandarin, Simplified)",
    styles=YUNXI_STYLES,
    roles=YUNXI_ROLES,
    sample_rate=24000,
    words_per_minute=293,
    voice_type="Neural",
    status="GA",
)
#: Styles (some of Yunxi's, not "narration-relaxed"), no roles.
XIAOXIAO: Final = Voice(
    short_name="zh-CN-XiaoxiaoNeural",
    display_name="Xiaoxiao",
    locale="zh-CN",
    gender=Gender.FEMALE,
    local_name="晓晓",
    locale_name="Chinese (Mandarin, Simplified)",
    styles=(
        "assistant",
        "chat",
        "customerservice",
        "newscast",
        "affectionate",
        "angry",
        "calm",
        "cheerful",
        "disgruntled",
        "fearful",
        "gentle",
        "lyrical",
        "sad",
        "serious",
        "poetry-reading",
        "friendly",
        "chat-casual",
        "whispering",
        "sorry",
        "excited",
    ),
    sample_rate=24000,
    words_per_minute=168,
    voice_type="Neural",
    status="GA",
)
JENNY: Final = Voice(
    short_name="en-US-JennyNeural",
    display_name="Jenny",
    locale="en-US",
    gender=Gender.FEMALE,
    local_name="Jenny",
    locale_name="English (United States)",
    styles=(
        "assistant",
        "chat",
        "customerservice",
        "newscast",
        "angry",
        "cheerful",
        "sad",
        "excited",
        "friendly",
        "terrified",
        "shouting",
        "unfriendly",
        "whispering",
        "hopeful",
    ),
    sample_rate=24000,
    words_per_minute=152,
    voice_type="Neural",
    status="GA",
)
#: Speaks Chinese among its secondary locales ("zh-cn"); no styles.
JENNY_MULTILINGUAL: Final = Voice(
    short_name="en-US-JennyMultilingualNeural",
    display_name="Jenny Multilingual",
    locale="en-US",
    gender=Gender.FEMALE,
    local_name="Jenny Multilingual",
    locale_name="English (United States)",
    secondary_locales=(
        "de-DE",
        "en-AU",
        "en-CA",
        "en-GB",
        "es-ES",
        "es-MX",
        "fr-CA",
        "fr-FR",
        "it-IT",
        "ja-JP",
        "ko-KR",
        "pt-BR",
        "zh-cn",
    ),
    sample_rate=24000,
    words_per_minute=190,
    voice_type="Neural",
    status="GA",
)
#: No styles, no roles, no Chinese.
ORLA: Final = Voice(
    short_name="ga-IE-OrlaNeural",
    display_name="Orla",
    locale="ga-IE",
    gender=Gender.FEMALE,
    local_name="Orla",
    locale_name="Irish (Ireland)",
    sample_rate=24000,
    words_per_minute=139,
    voice_type="Neural",
    status="GA",
)
#: An HD voice: no style or prosody (its long list of locales is left out here).
AVA_HD_NAME: Final = "en-US-Ava:DragonHDLatestNeural"

# --- Convai --------------------------------------------------------------------

#: ElevenLabs' Rachel, American English.
RACHEL: Final = Voice(
    short_name="21m00Tcm4TlvDq8ikWAM",
    display_name="Rachel",
    locale="en-US",
    gender=Gender.FEMALE,
    voice_type="Elevenlabs Voices",
    status="PRODUCTION, DEVELOPMENT",
)
#: ElevenLabs, British English only.
OLD_BRITISH_MAN: Final = Voice(
    short_name="Old British Man",
    display_name="Old British Man",
    locale="en-GB",
    gender=Gender.MALE,
    voice_type="Elevenlabs Voices",
    status="PRODUCTION, DEVELOPMENT",
)
#: Google's voice that Convai lists as cmn-CN, read as zh-CN.
MANDARIN: Final = Voice(
    short_name="cmn-CN-Wavenet-A",
    display_name="Mandarin Female",
    locale="zh-CN",
    gender=Gender.FEMALE,
    voice_type="GCP Voices",
    status="PRODUCTION, DEVELOPMENT",
)
