"""The one line a plugin author adds: restore's conformance kit over this plugin's components."""

from restore_core.testing import conformance_suite

TestConformance = conformance_suite("median")
