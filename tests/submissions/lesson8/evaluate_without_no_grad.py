# Evaluates in eval mode but without torch.no_grad(): a graph is built for every batch.
def evaluate(model, loader, loss_fn, device):
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total += loss_fn(logits, targets).item() * len(targets)
        correct += (logits.argmax(1) == targets).sum().item()
        count += len(targets)
    model.train(was_training)
    return total / count, correct / count
