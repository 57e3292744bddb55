"""The camera demo: sources by URI, the Python runner (twin of the C++ app edgekit-camera), the overlay."""
