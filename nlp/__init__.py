"""Pure text -> Classification. No I/O besides loading rule and dictionary files at start-up."""

from nlp.classifier import RuleClassifier, load_classifier
from nlp.errors import NlpError, RulesError
from nlp.types import (
    Category,
    Classification,
    Classifier,
    EmergencyLevel,
    Location,
    Priority,
)

__all__ = [
    "Category",
    "Classification",
    "Classifier",
    "EmergencyLevel",
    "Location",
    "NlpError",
    "Priority",
    "RuleClassifier",
    "RulesError",
    "load_classifier",
]
