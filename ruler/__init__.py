"""FROZEN measuring stick: every file here is part of the ruler id; changing any of it makes a new ruler."""
