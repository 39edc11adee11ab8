"""Structured output: keep every sampled token inside a grammar.

Before each sampling step, every constrained request's grammar matcher
writes a bitmask of the tokens that can extend its output without leaving
the language (JSON schema, regular expression, fixed choices or EBNF); the
other tokens' logits become minus infinity. After sampling, the matcher
advances by the chosen token. The grammar engine is xgrammar, as upstream;
it is imported only when the first constrained request arrives.
"""
