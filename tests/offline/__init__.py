"""Tests of the offline copies of the monitored sites."""
