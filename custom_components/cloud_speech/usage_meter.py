"""An entry's usage meter: billable characters and requests this month (UTC).

What counts, and how, is `speech.usage`'s (Azure's "Billable characters"
rules, each linked to its source there); this module keeps the counts of one
entry across restarts, starts them again each month, and warns through
repair issues when a monthly allowance is nearly or wholly used.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
import logging
from typing import Any, Final, TypedDict

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
from .speech.usage import MonthlyUsage, month_key

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
# A sentence stream records a request per batch: the counts are written at
# most this often (and on unload and at shutdown), never per request.
SAVE_DELAY_SECONDS: Final = 30
# Percentages of the allowance that raise a repair issue, once each a month.
ALLOWANCE_THRESHOLDS: Final = (80, 100)
# Azure's page comparing the Free (F0) and Standard (S0) tiers.
PRICING_URL: Final = "https://azure.microsoft.com/pricing/details/speech/"


class _StoredUsage(TypedDict):
    month: str
    characters: int
    requests: int
    # The thresholds whose issue was raised this month.
    warned: list[int]


def storage_key(entry_id: str) -> str:
    """Where the counts of an entry are stored."""
    return f"{DOMAIN}.usage.{entry_id}"


def allowance_of(options: Mapping[str, Any]) -> int | None:
    """The monthly allowance an entry's options set, or None."""
    allowance = options.get(CONF_MONTHLY_ALLOWANCE)
    if isinstance(allowance, int | float) and allowance >= 1:
        return int(allowance)
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


def allowance_issue_id(threshold: int, entry_id: str, month: str) -> str:
    """The repair issue of a threshold in a month.

    The month is part of the id: an issue the user ignored stays ignored when
    it is created again under the same id, so a fixed id would never warn in
    a later month.
    """
    return f"allowance_{threshold}_{entry_id}_{month}"


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
        self._store: Store[_StoredUsage] = Store(
            hass, STORAGE_VERSION, storage_key(entry.entry_id)
        )
        self._usage = MonthlyUsage.starting(dt_util.utcnow())
        self._warned: set[int] = set()
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsub_month_end: CALLBACK_TYPE | None = None
        self._dirty = False
        self._closed = False

    @property
    def usage(self) -> MonthlyUsage:
        """The characters and requests counted this month."""
        return self._usage

    @property
    def last_reset(self) -> datetime:
        """When the counts started: the first instant of their month (UTC)."""
        return month_start(self._usage.month)

    @property
    def percent_used(self) -> float | None:
        """The share of the allowance used this month, or None without one."""
        if self.allowance is None:
            return None
        return self._usage.percent_of(self.allowance)

    async def async_load(self) -> None:
        """Read the stored counts and start watching for the month's end."""
        stored = await self._store.async_load()
        if stored:
            try:
                usage = MonthlyUsage.from_dict(stored)
                warned = {int(threshold) for threshold in stored.get("warned", [])}
            except (TypeError, ValueError) as err:
                _LOGGER.warning("Starting usage counts again: %s", err)
            else:
                self._usage = usage
                self._warned = warned & set(ALLOWANCE_THRESHOLDS)
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
        if self._closed:
            # After unload the entry's next meter owns the store (it may
            # have read it already): writing here would overwrite its counts.
            _LOGGER.debug("Not counting %d characters after unload", characters)
            return
        now = dt_util.utcnow()
        self._start_month(now)
        self._usage = self._usage.add(characters, now)
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
        """The counts, the allowance and the warnings raised, for diagnostics."""
        return {
            **self._usage.as_dict(),
            "last_reset": self.last_reset.isoformat(),
            "allowance": self.allowance,
            "percent_used": self.percent_used,
            "warned": sorted(self._warned),
        }

    def _stored(self) -> _StoredUsage:
        return {
            "month": self._usage.month,
            "characters": self._usage.characters,
            "requests": self._usage.requests,
            "warned": sorted(self._warned),
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
            self._warned.clear()
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
        """Raise each threshold's issue once a month; drop those no longer true.

        An allowance raised (or removed) in the options puts the use below a
        threshold again: its issue goes, and it may warn again later.
        """
        month = self._usage.month
        allowance = self.allowance
        percent = 0.0 if allowance is None else self._usage.percent_of(allowance)
        for threshold in ALLOWANCE_THRESHOLDS:
            issue_id = allowance_issue_id(threshold, self._entry_id, month)
            if allowance is None or percent < threshold:
                if threshold in self._warned:
                    self._warned.discard(threshold)
                    self._dirty = True
                ir.async_delete_issue(self._hass, DOMAIN, issue_id)
            elif threshold not in self._warned:
                self._warned.add(threshold)
                self._dirty = True
                self._raise_issue(threshold, issue_id, allowance)
        if percent >= ALLOWANCE_THRESHOLDS[-1]:
            # The allowance is used up: that issue says all the first one did.
            for threshold in ALLOWANCE_THRESHOLDS[:-1]:
                ir.async_delete_issue(
                    self._hass,
                    DOMAIN,
                    allowance_issue_id(threshold, self._entry_id, month),
                )

    @callback
    def _raise_issue(self, threshold: int, issue_id: str, allowance: int) -> None:
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
            translation_key=f"allowance_{threshold}",
            translation_placeholders={
                "entry_title": self._title,
                "characters": str(self._usage.characters),
                "allowance": str(allowance),
                "percent": str(int(self._usage.percent_of(allowance))),
                "month": self._usage.month,
                "next_month": month_key(next_month_start(self.last_reset)),
                "portal_url": self._portal_url,
            },
        )


async def async_remove_usage(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed entry's counts and its warnings."""
    store = Store[_StoredUsage](hass, STORAGE_VERSION, storage_key(entry_id))
    await store.async_remove()
    _delete_allowance_issues(hass, entry_id)


@callback
def _delete_allowance_issues(
    hass: HomeAssistant, entry_id: str, *, keep_month: str | None = None
) -> None:
    """Delete an entry's allowance issues, but those of `keep_month`."""
    for domain, issue_id in list(ir.async_get(hass).issues):
        if (
            domain == DOMAIN
            and issue_id.startswith("allowance_")
            and issue_id.split("_", 2)[-1].rsplit("_", 1)[0] == entry_id
            and (keep_month is None or not issue_id.endswith(f"_{keep_month}"))
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


# The allowance field of the account's options form: a whole number of
# characters (Azure's F0 tier includes 500 000 neural ones a month).
ALLOWANCE_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(min=1, step=1, mode=NumberSelectorMode.BOX)
)


def allowance_fields(data: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """The options form's allowance field, for the accounts that bill characters.

    Convai documents no character billing (its plans count interactions), so
    a Convai account is offered no allowance.
    """
    if data.get(CONF_SERVICE) == SERVICE_CONVAI:
        return {}
    return {vol.Optional(CONF_MONTHLY_ALLOWANCE): ALLOWANCE_SELECTOR}


def with_allowance(
    options: Mapping[str, Any], user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """The entry's options with the allowance the form gave; a cleared field removes it."""
    updated = {
        key: value for key, value in options.items() if key != CONF_MONTHLY_ALLOWANCE
    }
    updated |= {
        key: value for key, value in user_input.items() if key != CONF_MONTHLY_ALLOWANCE
    }
    if (allowance := allowance_of(user_input)) is not None:
        updated[CONF_MONTHLY_ALLOWANCE] = allowance
    return updated
