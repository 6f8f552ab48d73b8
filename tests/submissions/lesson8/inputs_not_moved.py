# Forgets to move the batches to `device`: works on the CPU, raises on a GPU.
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        loss = loss_fn(model(inputs), targets)
        (loss / size).backward()
        if i - start == size - 1:
            optimizer.step()
            optimizer.zero_grad()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count


def evaluate(model, loader, loss_fn, device):
    import torch

    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            logits = model(inputs)
            total += loss_fn(logits, targets).item() * len(targets)
            correct += (logits.argmax(1) == targets).sum().item()
            count += len(targets)
    model.train(was_training)
    return total / count, correct / count
