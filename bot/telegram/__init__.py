"""The Telegram adapter: the only part of the bot that imports python-telegram-bot.

It builds the Application (`app`), turns updates into calls to the dialog services (`handlers`) and their
replies into Bot API messages (`sending`, `rendering`), paces what is sent (`pace`, `requests`), runs the
webhook and health server (`http_server`), and runs the bot as a process (`serving`).
"""
