"""Cloud Speech: Home Assistant text-to-speech through Azure AI Speech and Convai."""

from __future__ import annotations

from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)

from .const import CONF_VOICE, DOMAIN, SUBENTRY_VOICE_PROFILE
from .coordinator import CloudSpeechConfigEntry, CloudSpeechData, VoiceListCoordinator
from .fallback import FIRST_AUDIO_BUDGET, Fallback, async_remove_fallbacks
from .helpers import create_client, create_recognizer, setup_error
from .repairs import async_check_voice_profiles, no_voice_profile_issue_id
from .speech.errors import InvalidRequestError
from .speech.models import Voice
from .usage_meter import UsageMeter, async_remove_usage
from .voice_cache import VoiceCache
from .voice_forms import without_voice_settings

__all__ = ["CloudSpeechConfigEntry", "CloudSpeechData"]

PLATFORMS = [Platform.SENSOR, Platform.STT, Platform.TTS]


async def async_setup_entry(hass: HomeAssistant, entry: CloudSpeechConfigEntry) -> bool:
    """Set up an entry: its client, its voices (cached), then its entities.

    A TTS entity per voice profile, and for an Azure account one speech-to-text
    entity and the usage sensors on the account's device.
    """
    usage = UsageMeter(hass, entry)
    await usage.async_load()
    # Also when setup fails below: the meter stops watching the month.
    entry.async_on_unload(usage.async_close)
    fallback = Fallback(hass, entry)
    await fallback.async_load()
    try:
        client = create_client(
            hass,
            entry.data,
            usage=usage,
            # Only with somewhere else to go is a slow first byte given up on.
            first_audio_budget=FIRST_AUDIO_BUDGET if fallback.engine else None,
        )
    except InvalidRequestError as err:
        raise setup_error(err) from err

    coordinator = VoiceListCoordinator(hass, entry, client)
    await coordinator.async_load()
    entry.runtime_data = data = CloudSpeechData(
        client=client,
        coordinator=coordinator,
        usage=usage,
        fallback=fallback,
        recognizer=create_recognizer(client, entry.options, usage=usage),
    )
    # The entity reads the voices when it needs them; listening keeps the
    # daily refresh scheduled, as a coordinator only polls for its listeners.
    entry.async_on_unload(coordinator.async_add_listener(data.async_voice_list_updated))
    if coordinator.data.is_stale:
        entry.async_create_background_task(
            hass, coordinator.async_refresh(), f"{DOMAIN} voice list refresh"
        )

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Voice profiles added, changed or deleted (and any other change) reload
    # the entry: its entities are then one per profile, as the profiles are.
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    async_check_voice_profiles(hass, entry)
    return True


async def _async_reload(hass: HomeAssistant, entry: CloudSpeechConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> bool:
    """Unload an entry; the coordinator stops with it."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Forget the cached voices of a removed entry, and its issue."""
    await VoiceCache(hass, entry.entry_id).async_remove()
    await async_remove_usage(hass, entry.entry_id)
    await async_remove_fallbacks(hass, entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, no_voice_profile_issue_id(entry.entry_id))


async def async_migrate_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> bool:
    """Bring an entry stored by an earlier release to this one's layout.

    Home Assistant itself refuses an entry of a newer release (a downgrade)
    before calling this.
    """
    if entry.version == 1:
        _move_voice_to_a_profile(hass, entry)
    return True


def _move_voice_to_a_profile(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Version 1 kept the voice in the options: make them the first profile.

    The profile takes the entry's id as its own, so its entity keeps its
    unique id (the entry id), entity id and device: automations and Assist
    pipelines that name it go on working.
    """
    profile = dict(entry.options)
    if Voice(profile.get(CONF_VOICE, ""), "", "").is_high_definition:
        # HD voices take no style or prosody; a profile refuses them.
        profile = without_voice_settings(profile)
    subentry = ConfigSubentry(
        subentry_id=entry.entry_id,
        subentry_type=SUBENTRY_VOICE_PROFILE,
        title=entry.title,
        data=MappingProxyType(profile),
        unique_id=None,
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    entity_registry = er.async_get(hass)
    if entity_id := entity_registry.async_get_entity_id("tts", DOMAIN, entry.entry_id):
        entity_registry.async_update_entity(
            entity_id, config_subentry_id=subentry.subentry_id
        )
    else:
        # Never set up (its setup kept failing): keep the entity id version 1
        # would have given it ("<title> Speech"), which YAML may already name.
        entity_registry.async_get_or_create(
            "tts",
            DOMAIN,
            entry.entry_id,
            config_entry=entry,
            config_subentry_id=subentry.subentry_id,
            suggested_object_id=f"{entry.title} speech",
        )
    device_registry = dr.async_get(hass)
    if device := device_registry.async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    ):
        device_registry.async_update_device(
            device.id, new_config_subentry_id=subentry.subentry_id
        )
    hass.config_entries.async_update_entry(
        entry, options={}, version=2, minor_version=1
    )
