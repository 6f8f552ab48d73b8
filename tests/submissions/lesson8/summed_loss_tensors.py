# Sums the loss tensors (not loss.item()) across the epoch: every step's graph stays alive.
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        loss = loss_fn(model(inputs), targets)
        (loss / size).backward()
        if i - start == size - 1:
            optimizer.step()
            optimizer.zero_grad()
        total += loss * len(targets)
        count += len(targets)
    return (total / count).item()
