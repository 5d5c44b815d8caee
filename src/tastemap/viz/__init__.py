"""Drawing: static figures, interactive HTML maps and label placement."""
