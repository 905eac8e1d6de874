"""Benchmarks of Cloud Speech through Home Assistant's TTS machinery (scripts/bench)."""
