"""Offline copies of the monitored sites, served over real HTTP for the demo and the tests."""
