# Reports accuracy as a percentage, as the tutorial prints it.
import torch


def evaluate(model, loader, loss_fn, device):
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            logits = model(inputs)
            total += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(1) == targets).sum().item()
            count += len(targets)
    model.train(was_training)
    return total / count, 100 * correct / count
