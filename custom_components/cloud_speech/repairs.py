"""The "no voice profile" repair: an account left with no voice to speak with.

Home Assistant cannot refuse to delete a config subentry, so deleting the
last voice profile leaves the account loaded with no TTS entity. The issue
says so, and its fix flow adds a profile; adding one any other way (the
entry's "Add voice profile") clears it too, as every change reloads the entry.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from .coordinator import CloudSpeechConfigEntry
from .profile_flow import VoiceProfileSteps

NO_VOICE_PROFILE = "no_voice_profile"


def no_voice_profile_issue_id(entry_id: str) -> str:
    """The issue of one account: each account can lose its last profile."""
    return f"{NO_VOICE_PROFILE}_{entry_id}"


@callback
def async_check_voice_profiles(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Raise the issue when the entry has no voice profile, else clear it."""
    issue_id = no_voice_profile_issue_id(entry.entry_id)
    if any(
        subentry.subentry_type == SUBENTRY_VOICE_PROFILE
        for subentry in entry.subentries.values()
    ):
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=NO_VOICE_PROFILE,
        translation_placeholders={"entry_title": entry.title},
        data={"entry_id": entry.entry_id},
    )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The fix flow of a "no voice profile" issue."""
    return AddVoiceProfileRepairFlow(str((data or {}).get("entry_id", "")))


class AddVoiceProfileRepairFlow(VoiceProfileSteps[RepairsFlowResult], RepairsFlow):
    """Add a voice profile to an account that has none, with the profile forms."""

    def __init__(self, entry_id: str) -> None:
        """Add a profile to the entry `entry_id`."""
        super().__init__()
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the profile form (the manager passes the issue id in)."""
        return await self.async_step_profile()

    def _loaded_entry(self) -> CloudSpeechConfigEntry | None:
        entry: CloudSpeechConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    def _async_finish(self, title: str, profile: dict[str, Any]) -> RepairsFlowResult:
        """Add the profile; the entry reloads, which adds its entity and clears the issue."""
        entry = self._loaded_entry()
        if entry is None:
            return self.async_abort(reason="entry_not_loaded")
        self.hass.config_entries.async_add_subentry(
            entry,
            ConfigSubentry(
                data=MappingProxyType(profile),
                subentry_type=SUBENTRY_VOICE_PROFILE,
                title=title,
                unique_id=None,
            ),
        )
        return self.async_create_entry(data={})
