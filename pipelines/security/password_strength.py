"""Refusal of guessable passwords, by zxcvbn's estimate (common passwords, dictionary words, keyboard
walks, repeats, dates, and the account's own name or email)."""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

from pipelines.errors import InvalidRequestError

__all__ = ["MIN_PASSWORD_SCORE", "check_password_strength"]

# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn's cost grows fast with length; a password whose first 72 characters are strong is strong.
_EVALUATED_CHARS = 72


def check_password_strength(password: str, user_inputs: Iterable[str | None] = ()) -> None:
    """InvalidRequestError, with zxcvbn's reasons, when ``password`` scores under MIN_PASSWORD_SCORE.

    ``user_inputs`` are words the account itself gives away (username, email, full name)."""
    words = [w for w in user_inputs if w]
    result = zxcvbn(password[:_EVALUATED_CHARS], user_inputs=words)
    if result["score"] >= MIN_PASSWORD_SCORE:
        return
    feedback = result.get("feedback") or {}
    reasons = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
    why = " ".join(r.strip() for r in reasons if r and r.strip())
    raise InvalidRequestError(
        f"password is too easy to guess (strength {result['score']} of 4, at least "
        f"{MIN_PASSWORD_SCORE} needed)" + (f": {why}" if why else "")
    )
