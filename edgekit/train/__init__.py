"""The training loop every training step uses (teacher, distill, fine-tune, QAT): edgekit.train.loop.fit."""
