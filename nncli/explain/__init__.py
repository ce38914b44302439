"""`nncli explain`'s records: the notes' backpropagation with every number, a model's backward pass as a
table, stacked linear layers multiplied out, and the L1/L2 weight paths. Plain data; views render it."""
