"""Speculative decoding: guess several tokens cheaply, let the model check them in one pass.

A decode step normally yields one token per forward pass. Here a proposer
guesses the next ``k`` tokens (the n-gram proposer looks for the current
suffix earlier in the text and copies what followed it); the target model
then runs over the last real token plus the ``k`` guesses in a single pass,
and the rejection sampler keeps the longest prefix of guesses consistent
with the model's own distribution, plus one token from the model. A pass
therefore yields between 1 and ``k + 1`` tokens.
"""
