"""Plain-PyTorch model definitions (no torchvision dependency)."""
