"""What the tests and the benchmarks share: an offline Bot API request layer, the Telegram
harness with its update factories, and an analytics event factory."""
