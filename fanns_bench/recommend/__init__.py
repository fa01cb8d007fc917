"""`fanns-bench recommend`: the results turned into a decision (which method and parameters
per filter type and selectivity range), and the policy file the `router` method applies.

choose.py: per bucket the winner, runner-up and noise verdict; rules.py: buckets merged into
ranges and the policy; policy.py: the policy file; text.py: printing; command.py: the CLI.
"""
