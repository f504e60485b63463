"""The training platform: model types, trainers and their hyperparameter rules, on uploaded datasets.

``base`` (the vocabulary), ``data`` (a processed dataset to arrays; prediction inputs to a model's
input), ``registry`` (model types, request checks, estimates, loading saved models), ``params``
(hyperparameter rules), ``metrics`` (per-epoch metrics, early stopping), and one module per trainer
family: ``lgbm``, ``xgbm``, ``forest``, ``torch_fit`` with ``nets`` (PyTorch networks).
"""
