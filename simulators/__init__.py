"""Device simulators that publish over MQTT like the real devices do."""

from simulators.demo import DEMO_DEVICES, DEMO_SITES, DemoSimulator

__all__ = ["DEMO_DEVICES", "DEMO_SITES", "DemoSimulator"]
