"""What each command and message does, front-end neutral: replies and buttons as data, no Telegram."""
