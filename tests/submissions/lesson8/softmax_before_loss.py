# Applies softmax to the outputs before nn.CrossEntropyLoss, which already applies log-softmax.
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        probs = torch.softmax(model(inputs), dim=1)
        loss = loss_fn(probs, targets)
        (loss / size).backward()
        if i - start == size - 1:
            optimizer.step()
            optimizer.zero_grad()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
