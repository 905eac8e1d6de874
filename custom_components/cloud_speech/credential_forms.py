"""The credential forms of the config flow, and the entry data they give.

A new service and a reconfiguration build entry data the same way: an empty
key keeps the reconfigured entry's key, but never for another endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.const import CONF_API_KEY
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from .const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENDPOINT,
    CONF_REGION,
    CONF_SERVICE,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from .speech.azure import REGIONS, AuthMode, AzureCloud, azure_endpoints
from .speech.errors import InvalidRequestError
from .voice_forms import choice_list, dropdown

#: The collapsed part of the Convai form: the endpoint, which only a developer
#: (pointing the integration at an emulator or a proxy) changes.
SECTION_ADVANCED: Final = "advanced"

PASSWORD_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD)
)
URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
CLOUD_SELECTOR: Final = choice_list([cloud.value for cloud in AzureCloud], CONF_CLOUD)
AUTH_MODE_SELECTOR: Final = choice_list(
    [mode.value for mode in AuthMode], CONF_AUTH_MODE
)


def cloud_schema() -> vol.Schema:
    """The Azure cloud picker."""
    return vol.Schema({vol.Required(CONF_CLOUD): CLOUD_SELECTOR})


def region_schema(cloud: AzureCloud, *, key_required: bool) -> vol.Schema:
    """Region, key and how to use it, of a resource in a regional cloud."""
    key = vol.Required if key_required else vol.Optional
    return vol.Schema(
        {
            vol.Required(CONF_REGION): dropdown(list(REGIONS[cloud])),
            key(CONF_API_KEY): PASSWORD_SELECTOR,
            vol.Optional(CONF_AUTH_MODE): AUTH_MODE_SELECTOR,
        }
    )


def custom_schema() -> vol.Schema:
    """Endpoint, optional key (Speech containers need none) and how to use it.

    Only custom-domain resources issue tokens, but the form cannot tell one
    from a container before the endpoint is typed: the token exchange is
    offered, and refused for a container with a form error.
    """
    return vol.Schema(
        {
            vol.Required(CONF_ENDPOINT): URL_SELECTOR,
            vol.Optional(CONF_API_KEY): PASSWORD_SELECTOR,
            vol.Optional(CONF_AUTH_MODE): AUTH_MODE_SELECTOR,
        }
    )


def convai_schema(*, key_required: bool, expanded: bool) -> vol.Schema:
    """The API key, and the endpoint in a section collapsed unless it is set."""
    key = vol.Required if key_required else vol.Optional
    return vol.Schema(
        {
            key(CONF_API_KEY): PASSWORD_SELECTOR,
            vol.Required(SECTION_ADVANCED): section(
                vol.Schema({vol.Optional(CONF_ENDPOINT): URL_SELECTOR}),
                {"collapsed": not expanded},
            ),
        }
    )


def endpoint_typed(user_input: Mapping[str, Any] | None) -> bool:
    """Whether the Convai form's section holds an endpoint (it is then open)."""
    return bool((user_input or {}).get(SECTION_ADVANCED))


def errors_in_section(errors: dict[str, str]) -> dict[str, str]:
    """Forms show errors per top-level field: the endpoint's go on its section."""
    if CONF_ENDPOINT in errors:
        return {SECTION_ADVANCED: errors[CONF_ENDPOINT]}
    return errors


def current_resource(current: Mapping[str, Any], cloud: AzureCloud) -> dict[str, Any]:
    """What a reconfigure form suggests: the entry's resource if in `cloud`, no key."""
    suggested = {CONF_AUTH_MODE: current.get(CONF_AUTH_MODE, AuthMode.KEY.value)}
    if current.get(CONF_CLOUD) == cloud:
        for key in (CONF_REGION, CONF_ENDPOINT):
            if key in current:
                suggested[key] = current[key]
    return suggested


def region_data(
    cloud: AzureCloud, user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """Entry data of a resource in a regional cloud; `current` is the entry's."""
    data = {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: cloud.value,
        CONF_REGION: user_input[CONF_REGION],
        CONF_AUTH_MODE: _auth_mode(user_input, current),
    }
    return _with_key(data, user_input, current)


def custom_data(
    user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """Entry data of a custom endpoint; `current` is the entry's."""
    data = {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: AzureCloud.CUSTOM.value,
        CONF_ENDPOINT: str(user_input[CONF_ENDPOINT]).strip(),
        CONF_AUTH_MODE: _auth_mode(user_input, current),
    }
    return _with_key(data, user_input, current)


def convai_data(
    user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """Entry data of Convai; `current` is the entry's."""
    data = {CONF_SERVICE: SERVICE_CONVAI}
    advanced = user_input.get(SECTION_ADVANCED) or {}
    # Empty: Convai itself (helpers.create_client's default).
    if endpoint := str(advanced.get(CONF_ENDPOINT) or "").strip():
        data[CONF_ENDPOINT] = endpoint
    return _with_key(data, user_input, current)


def _auth_mode(user_input: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """The mode chosen, else the entry's (reconfiguring), else the key itself."""
    return str(
        user_input.get(CONF_AUTH_MODE)
        or current.get(CONF_AUTH_MODE)
        or AuthMode.KEY.value
    )


def _with_key(
    data: dict[str, Any], user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """`data` with the key typed, else the stored one if the endpoint is the same.

    A stored key never goes on to a new endpoint (perhaps a container on
    plain HTTP) that the user did not give it for.
    """
    key = str(user_input.get(CONF_API_KEY) or "").strip()
    if not key and data.get(CONF_ENDPOINT) == current.get(CONF_ENDPOINT):
        key = current.get(CONF_API_KEY) or ""
    return {**data, CONF_API_KEY: key} if key else data


def token_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """Refuse the token exchange where it cannot work, before any request."""
    if data.get(CONF_AUTH_MODE) != AuthMode.TOKEN:
        return {}
    try:
        endpoints = azure_endpoints(
            AzureCloud(data[CONF_CLOUD]),
            region=data.get(CONF_REGION),
            endpoint=data.get(CONF_ENDPOINT),
        )
    except InvalidRequestError:
        return {}  # the voice list check shows what is wrong with the address
    if endpoints.token_url is None:
        # Speech containers and proxies issue no tokens.
        return {CONF_AUTH_MODE: "token_unsupported"}
    if CONF_API_KEY not in data:
        return {CONF_API_KEY: "token_needs_key"}
    return {}
