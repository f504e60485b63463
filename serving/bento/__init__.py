"""The BentoML inference service: registered models of the home's MLflow registry behind one batched
model-call endpoint (``service.py``); ``bentofile.yaml`` builds it into a Bento."""
