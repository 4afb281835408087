"""The network: InternViT vision encoder, pixel shuffle, the mlp1 projector and the LM glue."""
