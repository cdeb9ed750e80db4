"""The kernel every app may import and that imports no app: actors, web helpers, shared text and form helpers."""
