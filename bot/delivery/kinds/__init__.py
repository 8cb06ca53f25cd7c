"""The kinds of send the runner (`bot.delivery.runner`) carries out. Each says only how to
claim, perform and record one unit; a new kind is one module like these."""
