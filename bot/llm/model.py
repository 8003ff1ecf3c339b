"""Building the chat model named by LLM_MODEL, through LangChain's init_chat_model."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from bot.config import Settings

# Which pyproject extra brings each provider's LangChain package.
EXTRAS = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama"}
# Local OpenAI-compatible servers accept any key, but the client insists on having one.
PLACEHOLDER_KEY = "not-needed"
# The option that caps the length of an answer, where a provider does not call it max_tokens.
LENGTH_OPTION = {"ollama": "num_predict"}


class LLMConfigError(RuntimeError):
    """LLM_MODEL cannot be used as configured; the message says what to install or set."""


def make_chat_model(settings: Settings) -> BaseChatModel:
    provider, _, name = settings.llm_model.partition(":")
    extra = EXTRAS.get(provider)
    hint = f"pip install -e '.[{extra}]'" if extra else f"install the LangChain package for {provider}"
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise LLMConfigError(
            f"LLM_MODEL={settings.llm_model} needs LangChain and its provider package: {hint}"
        ) from None
    options: dict[str, Any] = {"timeout": settings.llm_timeout_seconds, "max_retries": 0}
    if settings.llm_base_url:
        options["base_url"] = settings.llm_base_url
    if settings.llm_api_key is not None:
        options["api_key"] = settings.llm_api_key.get_secret_value()
    elif provider == "openai" and settings.llm_base_url:
        options["api_key"] = PLACEHOLDER_KEY
    options[LENGTH_OPTION.get(provider, "max_tokens")] = settings.llm_max_tokens
    if provider == "openai":
        options["stream_usage"] = True  # token counts arrive with the last streamed chunk
        if settings.llm_base_url and "api.openai.com" not in settings.llm_base_url:
            # LangChain sends the cap as max_completion_tokens, OpenAI's current name; Ollama's and
            # LM Studio's OpenAI-compatible servers read only the older max_tokens, so it goes too
            options["extra_body"] = {"max_tokens": settings.llm_max_tokens}
    try:
        model = init_chat_model(name, model_provider=provider, **options)
    except ImportError as problem:
        raise LLMConfigError(f"LLM_MODEL={settings.llm_model}: {problem}. Install the extra: {hint}") from None
    except (ValueError, TypeError) as problem:
        raise LLMConfigError(f"LLM_MODEL={settings.llm_model} cannot be used: {problem}") from None
    if not isinstance(model, BaseChatModel):
        raise LLMConfigError(f"LLM_MODEL={settings.llm_model} did not give a chat model")
    return model
