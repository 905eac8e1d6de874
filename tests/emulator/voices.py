"""Voice catalogues served by the emulator.

The Azure list is generated from tables of real locales and voice names so it
has the size and shape of the real one (several hundred voices), and it holds
the seed's entries verbatim. Quirks the product must cope with are present on
purpose: locales in non-canonical case ("zh-cn"), three-part locales
("zh-CN-sichuan"), a colon in a voice name ("en-US-Ava:DragonHDLatestNeural"),
native-script LocalName values, styles, roles and secondary locales.
"""

from __future__ import annotations

import copy
import re
from typing import Any
import zlib

VoiceDict = dict[str, Any]

# The seed's entries, exactly as the API documentation shows them.
SEED_VOICES: tuple[VoiceDict, ...] = (
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)",
        "DisplayName": "Jenny",
        "LocalName": "Jenny",
        "ShortName": "en-US-JennyNeural",
        "Gender": "Female",
        "Locale": "en-US",
        "LocaleName": "English (United States)",
        "StyleList": [
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
        ],
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "ExtendedPropertyMap": {"IsHighQuality48K": "True"},
        "WordsPerMinute": "152",
    },
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (en-US, JennyMultilingualNeural)",
        "DisplayName": "Jenny Multilingual",
        "LocalName": "Jenny Multilingual",
        "ShortName": "en-US-JennyMultilingualNeural",
        "Gender": "Female",
        "Locale": "en-US",
        "LocaleName": "English (United States)",
        "SecondaryLocaleList": [
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
        ],
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "WordsPerMinute": "190",
    },
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (ga-IE, OrlaNeural)",
        "DisplayName": "Orla",
        "LocalName": "Orla",
        "ShortName": "ga-IE-OrlaNeural",
        "Gender": "Female",
        "Locale": "ga-IE",
        "LocaleName": "Irish (Ireland)",
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "WordsPerMinute": "139",
    },
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (zh-cn, YunxiNeural)",
        "DisplayName": "Yunxi",
        "LocalName": "云希",
        "ShortName": "zh-cn-YunxiNeural",
        "Gender": "Male",
        "Locale": "zh-cn",
        "LocaleName": "Chinese (Mandarin, Simplified)",
        "StyleList": [
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
        ],
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "RolePlayList": ["Narrator", "YoungAdultMale", "Boy"],
        "WordsPerMinute": "293",
    },
)

# locale | locale name | voices as Name:Gender (F/M). A voice written as
# "locale-Name" uses that spelling of the locale (non-canonical case on purpose).
_LOCALE_TABLE = """
af-ZA|Afrikaans (South Africa)|Adri:F Willem:M
am-ET|Amharic (Ethiopia)|Mekdes:F Ameha:M
ar-AE|Arabic (United Arab Emirates)|Fatima:F Hamdan:M
ar-EG|Arabic (Egypt)|Salma:F Shakir:M
ar-SA|Arabic (Saudi Arabia)|Zariyah:F Hamed:M
az-AZ|Azerbaijani (Latin, Azerbaijan)|Banu:F Babek:M
bg-BG|Bulgarian (Bulgaria)|Kalina:F Borislav:M
bn-IN|Bengali (India)|Tanishaa:F Bashkar:M
bs-BA|Bosnian (Bosnia and Herzegovina)|Vesna:F Goran:M
ca-ES|Catalan|Joana:F Alba:F Enric:M
cs-CZ|Czech (Czechia)|Vlasta:F Antonin:M
cy-GB|Welsh (United Kingdom)|Nia:F Aled:M
da-DK|Danish (Denmark)|Christel:F Jeppe:M
de-AT|German (Austria)|Ingrid:F Jonas:M
de-CH|German (Switzerland)|Leni:F Jan:M
de-DE|German (Germany)|Katja:F Amala:F Elke:F Gisela:F Klarissa:F Louisa:F Maja:F Tanja:F SeraphinaMultilingual:F Conrad:M Bernd:M Christoph:M Kasper:M Killian:M Klaus:M Ralf:M
el-GR|Greek (Greece)|Athina:F Nestoras:M
en-AU|English (Australia)|Natasha:F Annette:F Carly:F Elsie:F Freya:F Joanne:F Kim:F Tina:F William:M Darren:M Duncan:M Ken:M Neil:M Tim:M
en-CA|English (Canada)|Clara:F Liam:M
en-GB|English (United Kingdom)|Sonia:F Libby:F Abbi:F Bella:F Hollie:F Maisie:F Olivia:F Mia:F Ryan:M Alfie:M Elliot:M Ethan:M Noah:M Oliver:M Thomas:M
en-HK|English (Hong Kong SAR)|Yan:F Sam:M
en-IE|English (Ireland)|Emily:F Connor:M
en-IN|English (India)|Neerja:F Prabhat:M
en-KE|English (Kenya)|Asilia:F Chilemba:M
en-NG|English (Nigeria)|Ezinne:F Abeo:M
en-NZ|English (New Zealand)|Molly:F Mitchell:M
en-PH|English (Philippines)|Rosa:F James:M
en-SG|English (Singapore)|Luna:F Wayne:M
en-TZ|English (Tanzania)|Imani:F Elimu:M
en-US|English (United States)|Aria:F Amber:F Ana:F Ashley:F AvaMultilingual:F Ava:F Cora:F Elizabeth:F EmmaMultilingual:F Emma:F Jane:F Michelle:F Monica:F Nancy:F Sara:F Guy:M AndrewMultilingual:M Andrew:M Brandon:M BrianMultilingual:M Brian:M Christopher:M Davis:M Eric:M Jacob:M Jason:M Roger:M Steffan:M Tony:M
en-ZA|English (South Africa)|Leah:F Luke:M
es-AR|Spanish (Argentina)|Elena:F Tomas:M
es-CL|Spanish (Chile)|Catalina:F Lorenzo:M
es-CO|Spanish (Colombia)|Salome:F Gonzalo:M
es-ES|Spanish (Spain)|Elvira:F Abril:F Estrella:F Irene:F Laia:F Lia:F Triana:F Vera:F Ximena:F Alvaro:M Arnau:M Dario:M Elias:M Nil:M Saul:M Teo:M
es-MX|Spanish (Mexico)|Dalia:F Beatriz:F Candela:F Carlota:F Larissa:F Marina:F Nuria:F Renata:F Jorge:M Cecilio:M Gerardo:M Liberto:M Luciano:M Pelayo:M Yago:M
es-US|Spanish (United States)|Paloma:F Alonso:M
et-EE|Estonian (Estonia)|Anu:F Kert:M
eu-ES|Basque|Ainhoa:F Ander:M
fa-IR|Persian (Iran)|Dilara:F Farid:M
fi-FI|Finnish (Finland)|Selma:F Noora:F Harri:M
fil-PH|Filipino (Philippines)|Blessica:F Angelo:M
fr-BE|French (Belgium)|Charline:F Gerard:M
fr-CA|French (Canada)|Sylvie:F Jean:M Antoine:M Thierry:M
fr-CH|French (Switzerland)|Ariane:F Fabrice:M
fr-FR|French (France)|Denise:F Brigitte:F Celeste:F Coralie:F Eloise:F Jacqueline:F Josephine:F Yvette:F VivienneMultilingual:F Henri:M Alain:M Claude:M Jerome:M Maurice:M Yves:M
ga-IE|Irish (Ireland)|Colm:M
gl-ES|Galician|Sabela:F Roi:M
gu-IN|Gujarati (India)|Dhwani:F Niranjan:M
he-IL|Hebrew (Israel)|Hila:F Avri:M
hi-IN|Hindi (India)|Swara:F Madhur:M
hr-HR|Croatian (Croatia)|Gabrijela:F Srecko:M
hu-HU|Hungarian (Hungary)|Noemi:F Tamas:M
hy-AM|Armenian (Armenia)|Anahit:F Hayk:M
id-ID|Indonesian (Indonesia)|Gadis:F Ardi:M
is-IS|Icelandic (Iceland)|Gudrun:F Gunnar:M
it-IT|Italian (Italy)|Elsa:F Isabella:F Fabiola:F Fiamma:F Imelda:F Irma:F Palmira:F Pierina:F Diego:M Benigno:M Calimero:M Cataldo:M Gianni:M Lisandro:M Rinaldo:M
ja-JP|Japanese (Japan)|Nanami:F Aoi:F Mayu:F Shiori:F Keita:M Daichi:M Naoki:M
jv-ID|Javanese (Latin, Indonesia)|Siti:F Dimas:M
ka-GE|Georgian (Georgia)|Eka:F Giorgi:M
kk-KZ|Kazakh (Kazakhstan)|Aigul:F Daulet:M
km-KH|Khmer (Cambodia)|Sreymom:F Piseth:M
kn-IN|Kannada (India)|Sapna:F Gagan:M
ko-KR|Korean (Korea)|SunHi:F JiMin:F SeoHyeon:F SoonBok:F YuJin:F InJoon:M BongJin:M GookMin:M Hyunsu:M
lo-LA|Lao (Laos)|Keomany:F Chanthavong:M
lt-LT|Lithuanian (Lithuania)|Ona:F Leonas:M
lv-LV|Latvian (Latvia)|Everita:F Nils:M
mk-MK|Macedonian (North Macedonia)|Marija:F Aleksandar:M
ml-IN|Malayalam (India)|Sobhana:F Midhun:M
mn-MN|Mongolian (Mongolia)|Yesui:F Bataa:M
mr-IN|Marathi (India)|Aarohi:F Manohar:M
ms-MY|Malay (Malaysia)|Yasmin:F Osman:M
mt-MT|Maltese (Malta)|Grace:F Joseph:M
my-MM|Burmese (Myanmar)|Nilar:F Thiha:M
nb-NO|Norwegian Bokmål (Norway)|Pernille:F Iselin:F Finn:M
ne-NP|Nepali (Nepal)|Hemkala:F Sagar:M
nl-BE|Dutch (Belgium)|Dena:F Arnaud:M
nl-NL|Dutch (Netherlands)|Colette:F Fenna:F Maarten:M
pa-IN|Punjabi (India)|Vaani:F Ojas:M
pl-PL|Polish (Poland)|Agnieszka:F Zofia:F Marek:M
ps-AF|Pashto (Afghanistan)|Latifa:F GulNawaz:M
pt-BR|Portuguese (Brazil)|Francisca:F Brenda:F Elza:F Giovanna:F Leila:F Leticia:F Manuela:F Yara:F pt-br-Thalita:F Antonio:M Donato:M Fabio:M Humberto:M Julio:M Nicolau:M Valerio:M
pt-PT|Portuguese (Portugal)|Raquel:F Fernanda:F Duarte:M
ro-RO|Romanian (Romania)|Alina:F Emil:M
ru-RU|Russian (Russia)|Svetlana:F Dariya:F Dmitry:M
si-LK|Sinhala (Sri Lanka)|Thilini:F Sameera:M
sk-SK|Slovak (Slovakia)|Viktoria:F Lukas:M
sl-SI|Slovenian (Slovenia)|Petra:F Rok:M
so-SO|Somali (Somalia)|Ubax:F Muuse:M
sq-AL|Albanian (Albania)|Anila:F Ilir:M
sr-RS|Serbian (Cyrillic, Serbia)|Sophie:F Nicholas:M
su-ID|Sundanese (Indonesia)|Tuti:F Jajang:M
sv-SE|Swedish (Sweden)|Sofie:F Hillevi:F Mattias:M
sw-KE|Kiswahili (Kenya)|Zuri:F Rafiki:M
ta-IN|Tamil (India)|Pallavi:F Valluvar:M
te-IN|Telugu (India)|Shruti:F Mohan:M
th-TH|Thai (Thailand)|Premwadee:F Achara:F Niwat:M
tr-TR|Turkish (Türkiye)|Emel:F Ahmet:M
uk-UA|Ukrainian (Ukraine)|Polina:F Ostap:M
ur-PK|Urdu (Pakistan)|Uzma:F Asad:M
uz-UZ|Uzbek (Latin, Uzbekistan)|Madina:F Sardor:M
vi-VN|Vietnamese (Vietnam)|HoaiMy:F NamMinh:M
zh-CN|Chinese (Mandarin, Simplified)|Xiaoxiao:F Xiaochen:F Xiaohan:F Xiaomeng:F Xiaomo:F Xiaoqiu:F Xiaorui:F Xiaoshuang:F Xiaoxuan:F Xiaoyan:F Xiaoyi:F Xiaoyou:F Xiaozhen:F zh-cn-Yunjian:M zh-cn-Yunyang:M Yunfeng:M Yunhao:M Yunxia:M Yunye:M Yunze:M
zh-CN-liaoning|Chinese (Northeastern Mandarin, Simplified)|Xiaobei:F
zh-CN-shaanxi|Chinese (Zhongyuan Mandarin Shaanxi, Simplified)|Xiaoni:F
zh-CN-sichuan|Chinese (Southwestern Mandarin, Simplified)|Yunxi:M
zh-HK|Chinese (Cantonese, Traditional)|HiuMaan:F HiuGaai:F WanLung:M
zh-TW|Chinese (Taiwanese Mandarin, Traditional)|HsiaoChen:F HsiaoYu:F YunJhe:M
zu-ZA|isiZulu (South Africa)|Thando:F Themba:M
"""

_LOCAL_NAMES = {
    "ar-SA-ZariyahNeural": "زارية",
    "ar-SA-HamedNeural": "حامد",
    "el-GR-AthinaNeural": "Αθηνά",
    "he-IL-HilaNeural": "הילה",
    "he-IL-AvriNeural": "אברי",
    "hi-IN-SwaraNeural": "स्वरा",
    "hi-IN-MadhurNeural": "मधुर",
    "ja-JP-NanamiNeural": "七海",
    "ja-JP-KeitaNeural": "圭太",
    "ko-KR-SunHiNeural": "선히",
    "ko-KR-InJoonNeural": "인준",
    "ru-RU-SvetlanaNeural": "Светлана",
    "ru-RU-DmitryNeural": "Дмитрий",
    "th-TH-PremwadeeNeural": "เปรมวดี",
    "uk-UA-PolinaNeural": "Поліна",
    "zh-CN-XiaoxiaoNeural": "晓晓",
    "zh-CN-XiaoyiNeural": "晓伊",
    "zh-CN-XiaomoNeural": "晓墨",
    "zh-cn-YunjianNeural": "云健",
    "zh-cn-YunyangNeural": "云扬",
    "zh-CN-sichuan-YunxiNeural": "云希",
    "zh-HK-HiuMaanNeural": "曉曼",
    "zh-TW-HsiaoChenNeural": "曉臻",
}

_EMOTIONS = [
    "angry",
    "cheerful",
    "excited",
    "friendly",
    "hopeful",
    "sad",
    "shouting",
    "terrified",
    "unfriendly",
    "whispering",
]
_STYLES: dict[str, list[str]] = {
    "en-US-AriaNeural": [
        "chat",
        "customerservice",
        "narration-professional",
        "newscast-casual",
        "newscast-formal",
        "empathetic",
        *_EMOTIONS,
    ],
    "en-US-DavisNeural": ["chat", *_EMOTIONS],
    "en-US-GuyNeural": ["newscast", *_EMOTIONS],
    "en-US-JaneNeural": _EMOTIONS,
    "en-US-JasonNeural": _EMOTIONS,
    "en-US-NancyNeural": _EMOTIONS,
    "en-US-SaraNeural": _EMOTIONS,
    "en-US-TonyNeural": _EMOTIONS,
    "en-GB-SoniaNeural": ["cheerful", "sad"],
    "en-GB-RyanNeural": ["chat", "cheerful", "sad", "whispering"],
    "de-DE-ConradNeural": ["cheerful", "sad"],
    "fr-FR-DeniseNeural": ["cheerful", "sad", "whispering", "excited"],
    "fr-FR-HenriNeural": ["cheerful", "sad"],
    "es-MX-JorgeNeural": ["chat", "cheerful", "excited", "sad", "whispering"],
    "it-IT-IsabellaNeural": ["chat", "cheerful", "excited", "sad", "whispering"],
    "ja-JP-NanamiNeural": ["chat", "customerservice", "cheerful"],
    "ko-KR-SunHiNeural": ["cheerful", "sad"],
    "pt-BR-FranciscaNeural": ["calm"],
    "zh-CN-XiaoxiaoNeural": [
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
    ],
    "zh-CN-XiaomoNeural": [
        "embarrassed",
        "calm",
        "fearful",
        "cheerful",
        "disgruntled",
        "serious",
        "angry",
        "sad",
        "depressed",
        "affectionate",
        "gentle",
        "envious",
    ],
    "zh-CN-XiaoxuanNeural": [
        "calm",
        "fearful",
        "cheerful",
        "disgruntled",
        "serious",
        "angry",
        "gentle",
        "depressed",
    ],
    "zh-cn-YunjianNeural": [
        "narration-relaxed",
        "sports-commentary",
        "sports-commentary-excited",
        "angry",
        "disgruntled",
        "cheerful",
        "sad",
        "serious",
        "depressed",
        "documentary-narration",
    ],
    "zh-cn-YunyangNeural": [
        "customerservice",
        "narration-professional",
        "newscast-casual",
    ],
}
_ROLES: dict[str, list[str]] = {
    "zh-CN-XiaomoNeural": [
        "YoungAdultFemale",
        "YoungAdultMale",
        "OlderAdultFemale",
        "OlderAdultMale",
        "SeniorFemale",
        "SeniorMale",
        "Girl",
        "Boy",
    ],
    "zh-CN-XiaoxuanNeural": [
        "YoungAdultFemale",
        "YoungAdultMale",
        "OlderAdultFemale",
        "OlderAdultMale",
        "SeniorFemale",
        "SeniorMale",
        "Girl",
        "Boy",
    ],
}
_MULTILINGUAL_LOCALES = [
    "af-ZA",
    "ar-EG",
    "ar-SA",
    "bg-BG",
    "ca-ES",
    "cs-CZ",
    "da-DK",
    "de-AT",
    "de-CH",
    "de-DE",
    "el-GR",
    "en-AU",
    "en-CA",
    "en-GB",
    "en-IE",
    "en-IN",
    "en-US",
    "es-ES",
    "es-MX",
    "fi-FI",
    "fr-BE",
    "fr-CA",
    "fr-CH",
    "fr-FR",
    "he-IL",
    "hi-IN",
    "hr-HR",
    "hu-HU",
    "id-ID",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "nb-NO",
    "nl-BE",
    "nl-NL",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "sk-SK",
    "sv-SE",
    "th-TH",
    "tr-TR",
    "uk-UA",
    "vi-VN",
    "zh-CN",
    "zh-HK",
    "zh-TW",
]
_HIGH_QUALITY_48K = {
    "en-US-AriaNeural",
    "en-US-DavisNeural",
    "en-US-GuyNeural",
    "en-US-JaneNeural",
    "en-US-JasonNeural",
}
# Dragon HD voices: the name carries a colon; they speak many languages.
_DRAGON_HD = (
    ("en-US", "Ava", "Female"),
    ("en-US", "Andrew", "Male"),
    ("de-DE", "Seraphina", "Female"),
    ("zh-CN", "Xiaochen", "Female"),
)
# The seed's voices take the place of the generated ones with the same ShortName.
_SEED_POSITIONS = {voice["ShortName"]: voice for voice in SEED_VOICES}


def _display_name(name: str) -> str:
    """'AvaMultilingual' -> 'Ava Multilingual'; other names stay as they are."""
    if name.endswith("Multilingual"):
        return name.removesuffix("Multilingual") + " Multilingual"
    return name


def _words_per_minute(short_name: str) -> str:
    return str(120 + zlib.crc32(short_name.encode()) % 60)


def _voice(locale: str, locale_name: str, name: str, gender: str) -> VoiceDict:
    short_name = f"{locale}-{name}Neural"
    voice: VoiceDict = {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name}Neural)",
        "DisplayName": _display_name(name),
        "LocalName": _LOCAL_NAMES.get(short_name, _display_name(name)),
        "ShortName": short_name,
        "Gender": "Female" if gender == "F" else "Male",
        "Locale": locale,
        "LocaleName": locale_name,
    }
    if name.endswith("Multilingual"):
        voice["SecondaryLocaleList"] = [
            other for other in _MULTILINGUAL_LOCALES if other.lower() != locale.lower()
        ]
    if styles := _STYLES.get(short_name):
        voice["StyleList"] = list(styles)
    voice.update({"SampleRateHertz": "24000", "VoiceType": "Neural", "Status": "GA"})
    if short_name in _HIGH_QUALITY_48K:
        voice["ExtendedPropertyMap"] = {"IsHighQuality48K": "True"}
    if roles := _ROLES.get(short_name):
        voice["RolePlayList"] = list(roles)
    voice["WordsPerMinute"] = _words_per_minute(short_name)
    return voice


def _dragon_hd_voice(
    locale: str, locale_name: str, name: str, gender: str
) -> VoiceDict:
    short_name = f"{locale}-{name}:DragonHDLatestNeural"
    return {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name}:DragonHDLatestNeural)",
        "DisplayName": f"{name} (Dragon HD Latest)",
        "LocalName": _LOCAL_NAMES.get(f"{locale}-{name}Neural", name),
        "ShortName": short_name,
        "Gender": gender,
        "Locale": locale,
        "LocaleName": locale_name,
        "SecondaryLocaleList": [
            other for other in _MULTILINGUAL_LOCALES if other != locale
        ],
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "Preview",
        "WordsPerMinute": _words_per_minute(short_name),
    }


def build_voice_list() -> list[VoiceDict]:
    """A fresh copy of the emulated Azure voice list."""
    voices: list[VoiceDict] = []
    locale_names: dict[str, str] = {}
    for line in _LOCALE_TABLE.strip().splitlines():
        locale, locale_name, entries = line.split("|")
        locale_names[locale] = locale_name
        if locale == "en-US":
            voices.append(copy.deepcopy(_SEED_POSITIONS["en-US-JennyNeural"]))
            voices.append(
                copy.deepcopy(_SEED_POSITIONS["en-US-JennyMultilingualNeural"])
            )
        elif locale == "ga-IE":
            voices.append(copy.deepcopy(_SEED_POSITIONS["ga-IE-OrlaNeural"]))
        for entry in entries.split():
            name, gender = entry.split(":")
            voice_locale = locale
            if (
                "-" in name
            ):  # a non-canonical spelling of the locale, e.g. "zh-cn-Yunjian"
                voice_locale, name = name.rsplit("-", 1)
            voices.append(_voice(voice_locale, locale_name, name, gender))
        if locale == "zh-CN":
            voices.append(copy.deepcopy(_SEED_POSITIONS["zh-cn-YunxiNeural"]))
    for locale, name, gender in _DRAGON_HD:
        voices.append(_dragon_hd_voice(locale, locale_names[locale], name, gender))
    return voices


# --- Convai ------------------------------------------------------------------

# Sections of the Convai voice list -> (display name, voice_value, lang_codes,
# gender). Section names as the Voice List API page spells them ("GCP Voices",
# "Azure Voices", "Elevenlabs Voices"); "OpenAI Voices" is an assumption, its
# voice_value is the TTS seed's sample voice.
_CONVAI_TABLE: dict[str, list[tuple[str, str, list[str], str]]] = {
    "GCP Voices": [
        ("Australian English Female", "en-AU-Wavenet-A", ["en-AU"], "FEMALE"),
        ("US English Male", "en-US-Wavenet-D", ["en-US"], "MALE"),
        ("Mandarin Female", "cmn-CN-Wavenet-A", ["cmn-CN"], "FEMALE"),
        ("Hebrew Male", "he-IL-Wavenet-B", ["iw-IL"], "MALE"),
        ("Arabic Female", "ar-XA-Wavenet-A", ["ar"], "FEMALE"),
        ("Cantonese Female", "yue-HK-Standard-A", ["yue-HK"], "FEMALE"),
    ],
    "Azure Voices": [
        ("Jenny", "en-US-JennyNeural", ["en-US"], "FEMALE"),
        ("Katja", "de-DE-KatjaNeural", ["de-DE"], "FEMALE"),
        ("Xiaoxiao", "zh-CN-XiaoxiaoNeural", ["cmn-CN"], "FEMALE"),
        ("Hamed", "ar-SA-HamedNeural", ["ar"], "MALE"),
    ],
    "Elevenlabs Voices": [
        ("Rachel", "21m00Tcm4TlvDq8ikWAM", ["en-US"], "FEMALE"),
        ("Old British Man", "Old British Man", ["en-GB"], "MALE"),
        (
            "Calm Narrator",
            "Calm Narrator Voice",
            ["en-US", "de-DE", "fr-FR", "es-ES", "iw-IL"],
            "FEMALE",
        ),
    ],
    "OpenAI Voices": [
        (
            "Fable",
            "fable_OpenAi_c4d30a32-bcaf-4048-b7b0-0f2bb293205a",
            ["en-US"],
            "MALE",
        ),
        (
            "Nova",
            "nova_OpenAi_5b5e0e13-5d7b-4b8e-9f3c-7a1c2d3e4f50",
            ["en-US"],
            "FEMALE",
        ),
        (
            "Alloy",
            "alloy_OpenAi_9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d",
            ["en-US"],
            "FEMALE",
        ),
    ],
}

# Voices whose TTS backend cannot produce MP3 (the API says "not all voices").
DEFAULT_CONVAI_MP3_UNSUPPORTED = frozenset(
    {"en-AU-Wavenet-A", "cmn-CN-Wavenet-A", "Old British Man"}
)

# WAV sample rate per section; ElevenLabs speaks at 22050 Hz, the rest at 24 kHz
# (an assumption: the TTS page names no rate).
CONVAI_WAV_RATES = {"Elevenlabs Voices": 22050}
CONVAI_DEFAULT_WAV_RATE = 24000


def _sample_link(voice_value: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", voice_value).strip("-").lower()
    return f"https://storage.googleapis.com/convai-voice-samples/{slug}.mp3"


def convai_voice_item(
    display_name: str,
    voice_value: str,
    lang_codes: list[str],
    gender: str = "FEMALE",
    **extra: Any,
) -> dict[str, dict[str, Any]]:
    """One element of a section's array: a single-key object, as documented."""
    return {
        display_name: {
            "voice_value": voice_value,
            "lang_codes": list(lang_codes),
            "gender": gender,
            "sample_link": _sample_link(voice_value),
            # A list, as in the Voice List API page's sample response.
            "deployment_env": ["PRODUCTION", "DEVELOPMENT"],
        }
        | extra
    }


def build_convai_voices() -> dict[str, list[dict[str, dict[str, Any]]]]:
    """A fresh copy of the emulated Convai voice list, in the documented shape.

    ``{section: [{voice name: {voice_value, lang_codes, gender, sample_link}},
    …]}`` (Convai's Voice List API page).
    """
    return {
        section: [convai_voice_item(*row) for row in entries]
        for section, entries in _CONVAI_TABLE.items()
    }
