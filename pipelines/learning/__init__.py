"""The training platform: model types, trainers and their hyperparameter rules, on uploaded datasets."""
