"""Scenario entries of the tasks, one file each."""
