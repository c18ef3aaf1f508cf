"""The learned second opinion: a linear model over character n-grams and jieba words.

Runtime (model, store, combine, opinion) is pure Python, except that a block of many messages is scored
at once with numpy (batch, imported only then); training (train, tuning, pipeline) imports scikit-learn
and is only used by `gridbot nlp train` and the benchmarks.
"""

from nlp.learned.combine import Outcome, RulesView, combine
from nlp.learned.model import LinearModel, Policy, Vote
from nlp.learned.store import ModelError, dump_model, load_model

__all__ = [
    "LinearModel",
    "ModelError",
    "Outcome",
    "Policy",
    "RulesView",
    "Vote",
    "combine",
    "dump_model",
    "load_model",
]
