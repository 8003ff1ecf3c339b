#!/usr/bin/env bash
# Container start: bring the knowledge index up to date, then hand the process over to the bot.
#
# The index is refreshed on every start, not only when $DATA_DIR/chroma is empty. `python -m ingest` is
# idempotent: with nothing changed it writes nothing and takes a second or two, and it is
# what re-indexes the knowledge base that a new image brings, so an upgrade needs no extra step. It also
# covers a Chroma server (CHROMA_URL), whose contents this script cannot see. A failed build leaves the
# previous index in place, but the container exits so that the failure shows in `docker compose logs`.
#
# Arguments are passed to `python -m bot`: none runs the Telegram bot, `ask ...` answers questions,
# `chat` opens the terminal chat (with `docker compose run --rm bot chat`).
set -euo pipefail

if [[ $# -eq 0 && -z "${TELEGRAM_BOT_TOKEN:-}" ]]; then
    # Without a token `python -m bot` starts the terminal chat, which a detached container cannot use.
    cat >&2 <<'MESSAGE'
error: TELEGRAM_BOT_TOKEN is not set.
Get a token from @BotFather (send /newbot), put it in .env as TELEGRAM_BOT_TOKEN=... and run
`docker compose up -d` again. To try the bot without Telegram: docker compose run --rm bot chat
MESSAGE
    exit 2
fi

# stdout stays free for the bot's own output (`ask --json` prints one JSON object a line).
# Exit code 3 means another replica is updating the same index right now: start on the index that is
# live, and the bot switches to the new one when that ingest finishes.
status=0
python -m ingest --quiet >&2 || status=$?
if [[ $status -eq 3 ]]; then
    echo "another ingest is updating the index; starting on the current one" >&2
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi
exec python -m bot "$@"
