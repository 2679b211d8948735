"""Course configuration: `course.yaml` parsed into frozen, validated models."""

from autograder.config.loader import LAB_ENV, ConfigError, Locations, choose_lab, find_config, load_config, resolve_locations
from autograder.config.models import CourseConfig, PartConfig, Profile

__all__ = [
    "LAB_ENV",
    "choose_lab",
    "ConfigError",
    "CourseConfig",
    "Locations",
    "PartConfig",
    "Profile",
    "find_config",
    "load_config",
    "resolve_locations",
]
