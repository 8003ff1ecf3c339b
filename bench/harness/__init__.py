"""What tests and benchmarks both run the bot against: local stand-ins for the outside world and a launcher.

A Bot API server on loopback (`botapi`, `held_chats`), a scripted OpenAI-compatible model (`llm_server`), a
Chroma server (`chroma_server`), `python -m bot` as a child process (`botproc`), a settable clock, weekly
nudges made due (`due_nudges`) and where the ONNX export is kept (`models`). Tests import it; it imports
nothing of the tests.
"""
