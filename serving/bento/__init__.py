"""The BentoML inference service: registered models of the home's MLflow registry behind one batched
model-call endpoint (``service.py``); ``bentofile.yaml`` builds it into a Bento."""

import os

# BentoML samples no spans by default (rate 0), yet the tracing SDK still builds one per request,
# about a fifth of the service's CPU per call: off unless OTEL_SDK_DISABLED=false asks for tracing.
# Set here, before the service module imports BentoML and it builds its tracer provider.
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
