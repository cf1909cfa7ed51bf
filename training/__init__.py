"""Training side of facegen: the CSPup GAN, its data pipeline, training loop, evaluation and export."""
