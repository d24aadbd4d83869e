"""Scenario entries of the systems, one file each."""
