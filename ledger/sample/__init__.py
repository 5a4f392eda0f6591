"""Sample data: the 相山区 2022 report's annex tables, with an illustrative lifecycle."""
