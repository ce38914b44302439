"""Training: from a validated config to data, model, optimizer and loop (`build`), and the loop itself."""
