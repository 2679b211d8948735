"""What a lab folder declares for the engine, and how the engine reads it.

A lab is a folder (`solutions/<lab>/`): its reference modules, checks, probes, calibrations,
notebook source, and `definition.py`, which declares its training runs, how the grader trains
a submission's models, what the grader prepares for the workers, and any lab-specific step
after a part's worker. The engine holds no name of any lab's parts, functions, runs or models.
"""

from autograder.lab.definition import DEFINITION_FILE, LabDefinition, Measured, Run, load_definition

__all__ = ["DEFINITION_FILE", "LabDefinition", "Measured", "Run", "load_definition"]
