"""Fine-tuning on Tinker: which base models it accepts, and how to find the one you meant."""

from __future__ import annotations

from dreadnode.training.models import (
    EXTENDED_CONTEXT_SEPARATOR,
    RETIRED_TINKER_MODELS,
    TINKER_MODELS,
    TrainingAlgorithm,
    TrainingModel,
    TrainingModelFamily,
    TrainingModelPricing,
    TrainingModelType,
    TrainingQueryError,
    describe_unknown_training_model,
    filter_training_models,
    get_training_model,
    resolve_training_model,
    suggest_training_models,
)

__all__ = [
    "EXTENDED_CONTEXT_SEPARATOR",
    "RETIRED_TINKER_MODELS",
    "TINKER_MODELS",
    "TrainingAlgorithm",
    "TrainingModel",
    "TrainingModelFamily",
    "TrainingModelPricing",
    "TrainingModelType",
    "TrainingQueryError",
    "describe_unknown_training_model",
    "filter_training_models",
    "get_training_model",
    "resolve_training_model",
    "suggest_training_models",
]
