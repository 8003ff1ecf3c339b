"""The career-advisor bot: the advisor, the conversation, what is remembered, and the Telegram adapter."""
