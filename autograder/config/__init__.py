"""Course configuration: `course.yaml` parsed into frozen, validated models."""

from autograder.config.loader import ConfigError, Locations, find_config, load_config, resolve_locations
from autograder.config.models import CourseConfig, PartConfig, Profile

__all__ = [
    "ConfigError",
    "CourseConfig",
    "Locations",
    "PartConfig",
    "Profile",
    "find_config",
    "load_config",
    "resolve_locations",
]
