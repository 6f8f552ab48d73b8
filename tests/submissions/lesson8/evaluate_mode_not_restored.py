# Leaves the model in eval mode after evaluating.
import torch


def evaluate(model, loader, loss_fn, device):
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(1) == targets).sum().item()
            count += len(targets)
    return total / count, correct / count
