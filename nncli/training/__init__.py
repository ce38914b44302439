"""Training: turning a validated config into data, model, optimizer and loop (`build`), and the loop itself."""
