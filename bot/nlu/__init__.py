"""Language understanding learned from the content: features, a linear intent model,
thresholds calibrated by cross-validation, and the language a message is written in."""
