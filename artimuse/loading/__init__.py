"""Loading a checkpoint in the original InternVL layout: config, weights, tokenizer."""
