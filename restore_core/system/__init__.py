"""System: hardware description, memory measurement, atomic files, TOML reading and settings read
from the environment."""
