"""The transfer-learning lab's course engine: config, data, bases, release and grading."""

__version__ = "0.1.0"
