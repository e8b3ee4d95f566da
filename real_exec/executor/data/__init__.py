"""Data sets for real runs, read from local files: IDX (MNIST, Fashion-MNIST), CIFAR-10's
binary version, scikit-learn's bundled digits and generated data. Nothing is downloaded."""
