# Never calls model.train(): after evaluate() the model stays in eval mode (dropout off, BatchNorm frozen).
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
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
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
