"""The one core shared by the app, the batch CLI and training: load, preprocess, predict, explain, refuse."""

from inference.classifier import Classifier, ModelSource, Prediction
from inference.disclaimer import DISCLAIMER
from inference.loading import load_classifier
from inference.preprocess import ImageRejected

__all__ = ["DISCLAIMER", "Classifier", "ImageRejected", "ModelSource", "Prediction", "load_classifier"]
