"""An entry's usage meter: what it used this month (UTC), as the service bills it.

Two measures are counted: the billable characters of text to speech (with
its requests) and the seconds of audio sent to speech to text (with its
requests). What counts, and how, is `speech.usage`'s (Azure's "Billable
characters" rules and its billing of speech to text by audio duration, each
linked to its source there); this module keeps the counts of one entry
across restarts, starts them again each month, and warns through repair
issues when a measure's monthly allowance is nearly or wholly used. Each
measure has its own allowance and its own warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
import logging
import math
import re
from typing import Any, Final, NotRequired, TypedDict

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from .const import (
    CONF_CLOUD,
    CONF_MONTHLY_ALLOWANCE,
    CONF_SERVICE,
    DOMAIN,
    PORTAL_URLS,
    SERVICE_CONVAI,
)
from .speech.azure import AzureCloud
from .speech.usage import SECONDS_PER_HOUR, MonthlyUsage, month_key

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
# A sentence stream records a request per batch: the counts are written at
# most this often (and on unload and at shutdown), never per request.
SAVE_DELAY_SECONDS: Final = 30
# Percentages of the allowance that raise a repair issue, once each a month.
ALLOWANCE_THRESHOLDS: Final = (80, 100)
# Azure's page comparing the Free (F0) and Standard (S0) tiers.
PRICING_URL: Final = "https://azure.microsoft.com/pricing/details/speech/"

# Entry option (the account's, Azure only): the hours of audio speech to
# text may use a month, for the audio percentage and its warnings; absent
# means no audio allowance. The characters' allowance is const's
# CONF_MONTHLY_ALLOWANCE.
CONF_MONTHLY_AUDIO_ALLOWANCE: Final = "monthly_audio_allowance"


class Measure(StrEnum):
    """What a monthly allowance limits; each has its own warnings."""

    # Billable characters of text to speech.
    CHARACTERS = "characters"
    # Seconds of audio sent to speech to text (the allowance is in hours).
    AUDIO = "audio"


# The start of each measure's repair issue ids and translation keys.
ISSUE_PREFIXES: Final = {
    Measure.CHARACTERS: "allowance",
    Measure.AUDIO: "audio_allowance",
}
_MONTH: Final = re.compile(r"[0-9]{4}-[0-9]{2}")


class _StoredUsage(TypedDict):
    month: str
    characters: int
    requests: int
    # Absent in counts stored before speech to text was counted.
    audio_seconds: NotRequired[float]
    recognitions: NotRequired[int]
    # The thresholds whose issue was raised this month, for each measure.
    warned: list[int]
    audio_warned: NotRequired[list[int]]


def storage_key(entry_id: str) -> str:
    """Where the counts of an entry are stored."""
    return f"{DOMAIN}.usage.{entry_id}"


def allowance_of(options: Mapping[str, Any]) -> int | None:
    """The monthly allowance of characters an entry's options set, or None."""
    allowance = options.get(CONF_MONTHLY_ALLOWANCE)
    if isinstance(allowance, int | float) and allowance >= 1:
        return int(allowance)
    return None


def audio_allowance_of(options: Mapping[str, Any]) -> float | None:
    """The monthly allowance of audio, in hours, an entry's options set, or None."""
    hours = options.get(CONF_MONTHLY_AUDIO_ALLOWANCE)
    if (
        isinstance(hours, int | float)
        and not isinstance(hours, bool)
        and math.isfinite(hours)
        and hours > 0
    ):
        return float(hours)
    return None


def month_start(month: str) -> datetime:
    """The first instant of a ``YYYY-MM`` month, in UTC."""
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def next_month_start(now: datetime) -> datetime:
    """The first instant of the UTC month after the one `now` is in."""
    start = month_start(month_key(now))
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def allowance_issue_id(
    threshold: int, entry_id: str, month: str, measure: Measure = Measure.CHARACTERS
) -> str:
    """The repair issue of a measure's threshold in a month.

    ``allowance_80_<entry>_<month>`` for characters,
    ``audio_allowance_80_<entry>_<month>`` for audio. The month is part of
    the id: an issue the user ignored stays ignored when it is created again
    under the same id, so a fixed id would never warn in a later month.
    """
    return f"{ISSUE_PREFIXES[measure]}_{threshold}_{entry_id}_{month}"


class UsageMeter:
    """The counts of one entry for the current month, stored and watched."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Count for `entry`; nothing is read until `async_load`."""
        self._hass = hass
        self._entry_id = entry.entry_id
        self._title = entry.title
        # Custom endpoints' resources live in the global cloud's portal.
        self._portal_url = PORTAL_URLS.get(
            entry.data.get(CONF_CLOUD, ""), PORTAL_URLS[AzureCloud.GLOBAL]
        )
        self.allowance = allowance_of(entry.options)
        # Convai has no speech to text: no audio to count, nor to allow.
        self.counts_audio = entry.data.get(CONF_SERVICE) != SERVICE_CONVAI
        self.audio_allowance_hours = (
            audio_allowance_of(entry.options) if self.counts_audio else None
        )
        self._store: Store[_StoredUsage] = Store(
            hass, STORAGE_VERSION, storage_key(entry.entry_id)
        )
        self._usage = MonthlyUsage.starting(dt_util.utcnow())
        self._warned: dict[Measure, set[int]] = {measure: set() for measure in Measure}
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsub_month_end: CALLBACK_TYPE | None = None
        self._dirty = False
        self._closed = False

    @property
    def usage(self) -> MonthlyUsage:
        """The characters, audio and requests counted this month."""
        return self._usage

    @property
    def last_reset(self) -> datetime:
        """When the counts started: the first instant of their month (UTC)."""
        return month_start(self._usage.month)

    @property
    def percent_used(self) -> float | None:
        """The share of the character allowance used this month, or None."""
        return self.percent_of(Measure.CHARACTERS)

    @property
    def audio_percent_used(self) -> float | None:
        """The share of the audio allowance used this month, or None."""
        return self.percent_of(Measure.AUDIO)

    def percent_of(self, measure: Measure) -> float | None:
        """The share of `measure`'s allowance used this month, or None without one."""
        if measure is Measure.CHARACTERS:
            if self.allowance is None:
                return None
            return self._usage.percent_of(self.allowance)
        if self.audio_allowance_hours is None:
            return None
        return self._usage.audio_percent_of(
            self.audio_allowance_hours * SECONDS_PER_HOUR
        )

    async def async_load(self) -> None:
        """Read the stored counts and start watching for the month's end."""
        stored = await self._store.async_load()
        if stored:
            try:
                usage = MonthlyUsage.from_dict(stored)
                warned = {
                    measure: {int(threshold) for threshold in thresholds}
                    & set(ALLOWANCE_THRESHOLDS)
                    for measure, thresholds in (
                        (Measure.CHARACTERS, stored.get("warned", [])),
                        (Measure.AUDIO, stored.get("audio_warned", [])),
                    )
                }
            except (TypeError, ValueError) as err:
                _LOGGER.warning("Starting usage counts again: %s", err)
            else:
                self._usage = usage
                self._warned = warned
        self._start_month(dt_util.utcnow())
        self._check_allowance()
        self._watch_month_end()

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `update` whenever the counts change; returns the way to stop."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def record(self, characters: int) -> None:
        """Count one request the service accepted, of `characters` billable ones."""
        self._record(
            lambda usage, now: usage.add(characters, now), f"{characters} characters"
        )

    @callback
    def record_audio(self, seconds: float) -> None:
        """Count one speech-to-text request the service answered, of `seconds` of audio.

        Azure bills the audio sent, so a request that recognised nothing
        counts too.
        """
        self._record(
            lambda usage, now: usage.add_audio(seconds, now),
            f"{seconds} seconds of audio",
        )

    @callback
    def _record(
        self, add: Callable[[MonthlyUsage, datetime], MonthlyUsage], what: str
    ) -> None:
        """Count a request with `add`, in the month it is in, and warn if due."""
        if self._closed:
            # After unload the entry's next meter owns the store (it may
            # have read it already): writing here would overwrite its counts.
            _LOGGER.debug("Not counting %s after unload", what)
            return
        now = dt_util.utcnow()
        self._start_month(now)
        self._usage = add(self._usage, now)
        self._check_allowance()
        self._changed()

    async def async_close(self) -> None:
        """Stop watching and write pending counts now (on unload)."""
        self._closed = True
        if self._unsub_month_end is not None:
            self._unsub_month_end()
            self._unsub_month_end = None
        if self._dirty:
            await self._store.async_save(self._stored())
            self._dirty = False

    def as_diagnostics(self) -> dict[str, Any]:
        """The counts, the allowances and the warnings raised, for diagnostics.

        A Convai account's show no audio: it has no speech to text.
        """
        usage = self._usage
        diagnostics: dict[str, Any] = {
            "month": usage.month,
            "characters": usage.characters,
            "requests": usage.requests,
            "last_reset": self.last_reset.isoformat(),
            "allowance": self.allowance,
            "percent_used": self.percent_used,
            "warned": sorted(self._warned[Measure.CHARACTERS]),
        }
        if self.counts_audio:
            diagnostics |= {
                "audio_seconds": usage.audio_seconds,
                "recognitions": usage.recognitions,
                "audio_allowance_hours": self.audio_allowance_hours,
                "audio_percent_used": self.audio_percent_used,
                "audio_warned": sorted(self._warned[Measure.AUDIO]),
            }
        return diagnostics

    def _stored(self) -> _StoredUsage:
        return {
            "month": self._usage.month,
            "characters": self._usage.characters,
            "requests": self._usage.requests,
            "audio_seconds": self._usage.audio_seconds,
            "recognitions": self._usage.recognitions,
            "warned": sorted(self._warned[Measure.CHARACTERS]),
            "audio_warned": sorted(self._warned[Measure.AUDIO]),
        }

    @callback
    def _changed(self) -> None:
        """Store the counts soon and tell the sensors."""
        self._dirty = True
        self._store.async_delay_save(self._stored, SAVE_DELAY_SECONDS)
        for update in list(self._listeners):
            update()

    @callback
    def _start_month(self, now: datetime) -> None:
        """Start the counts again when `now` is in a later month."""
        usage = self._usage.reset_if_new_month(now)
        if usage != self._usage:
            self._usage = usage
            for warned in self._warned.values():
                warned.clear()
            self._dirty = True
        # Also after a restart past the month's end: last month's warnings go.
        _delete_allowance_issues(self._hass, self._entry_id, keep_month=usage.month)

    @callback
    def _watch_month_end(self) -> None:
        self._unsub_month_end = async_track_point_in_utc_time(
            self._hass, self._month_ended, next_month_start(dt_util.utcnow())
        )

    @callback
    def _month_ended(self, now: datetime) -> None:
        """Show the new month's zero even when nothing is spoken."""
        self._start_month(now)
        self._check_allowance()
        self._changed()
        self._watch_month_end()

    @callback
    def _check_allowance(self) -> None:
        """Check each measure against its allowance (see `_check_measure`)."""
        for measure in Measure:
            self._check_measure(measure)

    @callback
    def _check_measure(self, measure: Measure) -> None:
        """Raise each threshold's issue once a month; drop those no longer true.

        An allowance raised (or removed) in the options puts the use below a
        threshold again: its issue goes, and it may warn again later.
        """
        month = self._usage.month
        percent = self.percent_of(measure)
        warned = self._warned[measure]
        for threshold in ALLOWANCE_THRESHOLDS:
            issue_id = allowance_issue_id(threshold, self._entry_id, month, measure)
            if percent is None or percent < threshold:
                if threshold in warned:
                    warned.discard(threshold)
                    self._dirty = True
                ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            elif threshold not in warned:
                warned.add(threshold)
                self._dirty = True
                self._raise_issue(measure, threshold, issue_id, percent)
        if percent is not None and percent >= ALLOWANCE_THRESHOLDS[-1]:
            # The allowance is used up: that issue says all the first one did.
            for threshold in ALLOWANCE_THRESHOLDS[:-1]:
                ir.async_delete_issue(
                    self._hass,
                    DOMAIN,
                    allowance_issue_id(threshold, self._entry_id, month, measure),
                )

    @callback
    def _raise_issue(
        self, measure: Measure, threshold: int, issue_id: str, percent: float
    ) -> None:
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            # Persistent: a restart must not bring back an issue the user
            # dismissed, nor lose one (the month's warnings are stored).
            is_persistent=True,
            severity=ir.IssueSeverity.ERROR
            if threshold >= ALLOWANCE_THRESHOLDS[-1]
            else ir.IssueSeverity.WARNING,
            learn_more_url=PRICING_URL,
            translation_key=f"{ISSUE_PREFIXES[measure]}_{threshold}",
            translation_placeholders={
                "entry_title": self._title,
                **self._amounts(measure),
                "percent": str(int(percent)),
                "month": self._usage.month,
                "next_month": month_key(next_month_start(self.last_reset)),
                "portal_url": self._portal_url,
            },
        )

    def _amounts(self, measure: Measure) -> dict[str, str]:
        """What was used and what is allowed, as an issue's placeholders say them."""
        if measure is Measure.CHARACTERS:
            return {
                "characters": str(self._usage.characters),
                "allowance": str(self.allowance),
            }
        # Tenths of an hour, rounded down: 4.96 hours is not "5.0" used yet.
        tenths = math.floor(self._usage.audio_seconds / (SECONDS_PER_HOUR / 10))
        return {
            "hours": f"{tenths / 10:.1f}",
            "allowance": f"{self.audio_allowance_hours:g}",
        }


async def async_remove_usage(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed entry's counts and its warnings."""
    store = Store[_StoredUsage](hass, STORAGE_VERSION, storage_key(entry_id))
    await store.async_remove()
    _delete_allowance_issues(hass, entry_id)


@callback
def _delete_allowance_issues(
    hass: HomeAssistant, entry_id: str, *, keep_month: str | None = None
) -> None:
    """Delete an entry's allowance issues of every measure, but those of `keep_month`."""
    prefixes = tuple(
        f"{ISSUE_PREFIXES[measure]}_{threshold}_{entry_id}_"
        for measure in Measure
        for threshold in ALLOWANCE_THRESHOLDS
    )
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain != DOMAIN:
            continue
        for prefix in prefixes:
            month = issue_id.removeprefix(prefix)
            if month != issue_id and _MONTH.fullmatch(month) and month != keep_month:
                ir.async_delete_issue(hass, DOMAIN, issue_id)
                break


# The allowance field of the account's options form: a whole number of
# characters (Azure's F0 tier includes 500 000 neural ones a month).
ALLOWANCE_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(min=1, step=1, mode=NumberSelectorMode.BOX)
)
# The audio allowance field: hours, by half hours (Azure's F0 tier includes
# 5 audio hours of speech to text a month).
AUDIO_ALLOWANCE_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        min=0.5, step=0.5, mode=NumberSelectorMode.BOX, unit_of_measurement="h"
    )
)
_ALLOWANCE_OPTIONS: Final = (CONF_MONTHLY_ALLOWANCE, CONF_MONTHLY_AUDIO_ALLOWANCE)


def allowance_fields(data: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """The options form's allowance fields, for the accounts that bill characters.

    Azure accounts get two: characters (text to speech) and hours of audio
    (speech to text). Convai documents no character billing (its plans count
    interactions) and has no speech to text, so a Convai account is offered
    no allowance.
    """
    if data.get(CONF_SERVICE) == SERVICE_CONVAI:
        return {}
    return {
        vol.Optional(CONF_MONTHLY_ALLOWANCE): ALLOWANCE_SELECTOR,
        vol.Optional(CONF_MONTHLY_AUDIO_ALLOWANCE): AUDIO_ALLOWANCE_SELECTOR,
    }


def with_allowance(
    options: Mapping[str, Any], user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """The entry's options with the allowances the form gave; a cleared field removes one.

    The form's other fields are taken as they are.
    """
    updated = {
        key: value for key, value in options.items() if key not in _ALLOWANCE_OPTIONS
    }
    updated |= {
        key: value for key, value in user_input.items() if key not in _ALLOWANCE_OPTIONS
    }
    if (allowance := allowance_of(user_input)) is not None:
        updated[CONF_MONTHLY_ALLOWANCE] = allowance
    if (hours := audio_allowance_of(user_input)) is not None:
        updated[CONF_MONTHLY_AUDIO_ALLOWANCE] = hours
    return updated
