"""Which host names the emulator answers for, and which endpoints each offers."""

from __future__ import annotations

from dataclasses import dataclass
import re

GLOBAL_REGIONS = frozenset(
    {
        "australiaeast", "brazilsouth", "canadacentral", "canadaeast", "centralindia", "centralus",
        "eastasia", "eastus", "eastus2", "francecentral", "germanywestcentral", "italynorth",
        "japaneast", "japanwest", "koreacentral", "northcentralus", "northeurope", "norwayeast",
        "qatarcentral", "southafricanorth", "southcentralus", "southeastasia", "swedencentral",
        "switzerlandnorth", "switzerlandwest", "uaenorth", "uksouth", "ukwest", "westcentralus",
        "westeurope", "westus", "westus2", "westus3",
    }
)  # fmt: skip
CHINA_REGIONS = frozenset({"chinaeast2", "chinanorth2", "chinanorth3"})
US_GOVERNMENT_REGIONS = frozenset({"usgovarizona", "usgovvirginia"})

# cloud -> (speech host suffix, token host suffix, regions)
CLOUDS: dict[str, tuple[str, str, frozenset[str]]] = {
    "global": (
        ".tts.speech.microsoft.com",
        ".api.cognitive.microsoft.com",
        GLOBAL_REGIONS,
    ),
    "china": (".tts.speech.azure.cn", ".api.cognitive.azure.cn", CHINA_REGIONS),
    "us_government": (
        ".tts.speech.azure.us",
        ".api.cognitive.microsoft.us",
        US_GOVERNMENT_REGIONS,
    ),
}
# cloud -> host suffix of the Speech to text REST API for short audio
# (rest-speech-to-text-short.md; sovereign-clouds.md for .azure.cn and .azure.us).
STT_SUFFIXES: dict[str, str] = {
    "global": ".stt.speech.microsoft.com",
    "china": ".stt.speech.azure.cn",
    "us_government": ".stt.speech.azure.us",
}
CUSTOM_DOMAIN_SUFFIX = ".cognitiveservices.azure.com"
CONVAI_HOST = "api.convai.com"
DEFAULT_CONTAINER_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Prefix under which a container host also serves the Convai API, so that a
# developer can point a Convai base URL at the standalone emulator.
CONVAI_PREFIX_ON_CONTAINER = "/convai"

_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class Site:
    """What a host name stands for."""

    host: str
    role: str  # speech | stt | token | custom | container | convai
    cloud: str | None  # global | china | us_government | custom | container | None
    region: str | None


def strip_port(host: str) -> str:
    """Host header value without port or IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def classify_host(
    host: str, container_hosts: frozenset[str] | set[str] = DEFAULT_CONTAINER_HOSTS
) -> Site | None:
    """The site a host name belongs to, or None when no such service exists."""
    name = strip_port(host).rstrip(".")
    if name == CONVAI_HOST:
        return Site(name, "convai", None, None)
    if name in container_hosts:
        return Site(name, "container", "container", None)
    for cloud, (speech_suffix, token_suffix, regions) in CLOUDS.items():
        for suffix, role in ((speech_suffix, "speech"), (token_suffix, "token")):
            region = name.removesuffix(suffix)
            if region != name and region in regions:
                return Site(name, role, cloud, region)
        region = name.removesuffix(STT_SUFFIXES[cloud])
        if region != name and region in regions:
            return Site(name, "stt", cloud, region)
    subdomain = name.removesuffix(CUSTOM_DOMAIN_SUFFIX)
    if subdomain != name and _DNS_LABEL.fullmatch(subdomain):
        return Site(name, "custom", "custom", None)
    return None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation: which service answers it and its kind for recording/faults."""

    service: str  # azure | convai
    kind: str  # synthesis | voices | token | recognition | convai_synthesis | convai_voices


_SYNTHESIS = Endpoint("azure", "synthesis")
_VOICES = Endpoint("azure", "voices")
_TOKEN = Endpoint("azure", "token")
_RECOGNITION = Endpoint("azure", "recognition")
# Speech to text REST API for short audio; on a custom domain the offering
# ("stt") becomes the first path element (speech-services-private-link.md).
RECOGNITION_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
_CONVAI_SYNTHESIS = Endpoint("convai", "convai_synthesis")
_CONVAI_VOICES = Endpoint("convai", "convai_voices")

ROUTES: dict[str, dict[tuple[str, str], Endpoint]] = {
    "speech": {
        ("POST", "/cognitiveservices/v1"): _SYNTHESIS,
        ("GET", "/cognitiveservices/voices/list"): _VOICES,
    },
    "stt": {("POST", RECOGNITION_PATH): _RECOGNITION},
    "token": {("POST", "/sts/v1.0/issueToken"): _TOKEN},
    "custom": {
        ("POST", f"/stt{RECOGNITION_PATH}"): _RECOGNITION,
        ("POST", "/tts/cognitiveservices/v1"): _SYNTHESIS,
        ("GET", "/tts/cognitiveservices/voices/list"): _VOICES,
        ("POST", "/sts/v1.0/issueToken"): _TOKEN,
    },
    "container": {
        ("POST", "/cognitiveservices/v1"): _SYNTHESIS,
        ("GET", "/cognitiveservices/voices/list"): _VOICES,
        ("POST", RECOGNITION_PATH): _RECOGNITION,
        ("POST", f"{CONVAI_PREFIX_ON_CONTAINER}/tts/"): _CONVAI_SYNTHESIS,
        (
            "GET",
            f"{CONVAI_PREFIX_ON_CONTAINER}/tts/get_available_voices",
        ): _CONVAI_VOICES,
    },
    "convai": {
        ("POST", "/tts/"): _CONVAI_SYNTHESIS,
        ("GET", "/tts/get_available_voices"): _CONVAI_VOICES,
    },
}


def find_endpoint(
    site: Site, method: str, path: str
) -> tuple[Endpoint | None, list[str]]:
    """The endpoint for a request, and the methods the path allows (for 405)."""
    routes = ROUTES[site.role]
    endpoint = routes.get((method.upper(), path))
    allowed = sorted(
        route_method for route_method, route_path in routes if route_path == path
    )
    return endpoint, allowed
