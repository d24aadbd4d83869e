"""Scenario entries of the monitors, one file each."""
