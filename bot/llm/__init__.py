"""LLM mode: the advisor's grounded answer rewritten by a language model, checked before it is shown."""
