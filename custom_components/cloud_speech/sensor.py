"""The usage meter's sensors: what an account used this month (UTC).

They belong to the account, on a device of their own: the voice profiles'
devices come and go with the profiles, the account's counts do not. Azure
accounts also count the audio sent to speech to text; Convai has no speech
to text, so its accounts have no audio sensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, Platform, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CloudSpeechConfigEntry
from .const import DOMAIN
from .helpers import account_device
from .usage_meter import UsageMeter

# The meter pushes its counts; nothing is polled.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UsageSensorDescription(SensorEntityDescription):
    """A number the usage meter keeps."""

    value_fn: Callable[[UsageMeter], float | int | None]
    # Counts that start again each month say when (last_reset).
    monthly_total: bool = True


# The monthly counts are TOTAL with last_reset at the start of the UTC month,
# not TOTAL_INCREASING: for a total, "the last_reset attribute can optionally
# be set to gain manual control of meter cycles"
# (https://developers.home-assistant.io/blog/2021/09/20/state_class_total).
# We know exactly when a cycle starts, whereas TOTAL_INCREASING infers it from
# a drop, which is never seen when Home Assistant is down at the month's end
# and the new month's first count already exceeds the old month's last one.
# Their units are translated (entity.sensor.<key>.unit_of_measurement).
USAGE_SENSORS: tuple[UsageSensorDescription, ...] = (
    UsageSensorDescription(
        key="characters",
        translation_key="characters",
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda meter: meter.usage.characters,
    ),
    UsageSensorDescription(
        key="requests",
        translation_key="requests",
        state_class=SensorStateClass.TOTAL,
        # How the characters were spent, not what is billed.
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda meter: meter.usage.requests,
    ),
)
# Speech to text, which Azure bills by the audio's duration (Convai has none).
AUDIO_SENSORS: tuple[UsageSensorDescription, ...] = (
    UsageSensorDescription(
        key="audio",
        translation_key="audio",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=1,
        # Milliseconds: sums of fractions of a second are not exact.
        value_fn=lambda meter: round(meter.usage.audio_seconds, 3),
    ),
    UsageSensorDescription(
        key="recognitions",
        translation_key="recognitions",
        state_class=SensorStateClass.TOTAL,
        # How the audio was sent, not what is billed.
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda meter: meter.usage.recognitions,
    ),
)
ALLOWANCE_SENSOR = UsageSensorDescription(
    key="allowance_used",
    translation_key="allowance_used",
    native_unit_of_measurement=PERCENTAGE,
    # A share of the allowance at this moment, not an amount to sum.
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
    monthly_total=False,
    value_fn=lambda meter: meter.percent_used,
)
AUDIO_ALLOWANCE_SENSOR = UsageSensorDescription(
    key="audio_allowance_used",
    translation_key="audio_allowance_used",
    native_unit_of_measurement=PERCENTAGE,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
    monthly_total=False,
    value_fn=lambda meter: meter.audio_percent_used,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CloudSpeechConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's usage sensors; each percentage only with its allowance."""
    meter = entry.runtime_data.usage
    descriptions = list(USAGE_SENSORS)
    if meter.counts_audio:
        descriptions += AUDIO_SENSORS
    registry = er.async_get(hass)
    for description, allowed in (
        (ALLOWANCE_SENSOR, meter.allowance is not None),
        # None for Convai, which has no speech to text.
        (AUDIO_ALLOWANCE_SENSOR, meter.audio_allowance_hours is not None),
    ):
        if allowed:
            descriptions.append(description)
        # The allowance was removed in the options: so is its sensor.
        elif entity_id := registry.async_get_entity_id(
            Platform.SENSOR, DOMAIN, unique_id(entry, description)
        ):
            registry.async_remove(entity_id)
    async_add_entities(
        UsageSensor(entry, meter, description) for description in descriptions
    )


def unique_id(
    entry: CloudSpeechConfigEntry, description: SensorEntityDescription
) -> str:
    """One sensor of each kind per entry."""
    return f"{entry.entry_id}_{description.key}"


class UsageSensor(SensorEntity):
    """One of the meter's numbers for this month."""

    entity_description: UsageSensorDescription
    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        entry: CloudSpeechConfigEntry,
        meter: UsageMeter,
        description: UsageSensorDescription,
    ) -> None:
        """Show `description`'s number of `meter`."""
        self.entity_description = description
        self._meter = meter
        self._attr_unique_id = unique_id(entry, description)
        self._attr_device_info = account_device(entry)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the meter."""
        await super().async_added_to_hass()
        self.async_on_remove(self._meter.async_add_listener(self.async_write_ha_state))

    @property
    @override
    def native_value(self) -> float | int | None:
        """The meter's number now."""
        return self.entity_description.value_fn(self._meter)

    @property
    @override
    def last_reset(self) -> datetime | None:
        """The start of the month (UTC) the counts are for."""
        if self.entity_description.monthly_total:
            return self._meter.last_reset
        return None
