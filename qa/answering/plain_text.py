"""An Answer as plain text for the terminal (the API and `--json` use Answer.to_json)."""

from __future__ import annotations

import textwrap

from qa.domain import Answer


def answer_as_text(answer: Answer) -> str:
    lines = [answer.message, ""]
    for number, quote in enumerate(answer.quotes, start=1):
        source = quote.source
        lines.append(f"[{number}] {source.title} — {source.section}")
        lines.extend(textwrap.wrap(quote.text, width=96, initial_indent="    > ",
                                   subsequent_indent="    > "))
        for start, end in quote.highlights:
            lines.append(f"    best match: \"{quote.text[start:end]}\"")
        details = [source.url or "no link", f"reviewed {source.reviewed or 'undated'}"]
        if source.evidence:
            details.append(f"evidence: {source.evidence}")
        lines.append("    " + " · ".join(details))
        lines.append("")
    if answer.related:
        lines.append("Related: " + "; ".join(answer.related))
        lines.append("")
    for disclaimer in answer.disclaimers:
        lines.append(f"Note: {disclaimer.text}")
    return "\n".join(lines).rstrip()
