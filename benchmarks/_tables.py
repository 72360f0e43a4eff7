"""Markdown tables shared by the benchmark scripts."""


def markdown(rows, columns, formats):
    """A markdown table of dict rows; a missing or None value prints as n/a."""
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = ""
    for row in rows:
        cells = []
        for column, fmt in zip(columns, formats):
            value = row.get(column)
            cells.append("n/a" if value is None or value == "" else fmt.format(value))
        body += "| " + " | ".join(cells) + " |\n"
    return head + body
