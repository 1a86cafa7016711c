"""Measuring the classifier: the labelled corpus, its metrics, the model build and `evaluate`.

Build and measurement tools, not part of the running service: they need scikit-learn (in the
project's development environment) and the corpus files in `services/triage/corpus/`."""
