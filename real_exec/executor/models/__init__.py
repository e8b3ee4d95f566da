"""The papers' models (MLP, LeNet, the small CNN, logistic regression) as numba kernels."""
