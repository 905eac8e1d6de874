"""Fixtures shared by every test."""

from __future__ import annotations

pytest_plugins = ["tests.emulator.pytest_plugin"]
