# Takes the predicted class from outputs.data.max(1)[0], the largest logit's VALUE, not its index.
import torch


def evaluate(model, loader, loss_fn, device):
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            predicted = outputs.data.max(1)[0]
            correct += (predicted == targets).sum().item()
            count += len(targets)
    model.train(was_training)
    return total / count, correct / count
