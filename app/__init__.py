"""facegen's HTTP service: serves a published model from model_store. Never imports torch."""
