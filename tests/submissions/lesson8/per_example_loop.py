# Right gradients, two examples at a time ("to save memory"): the same mean loss, 16 forwards and backwards
# per batch of 32.
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        batch_loss = 0.0
        for j in range(0, len(targets), 2):
            x, y = inputs[j:j + 2], targets[j:j + 2]
            loss = loss_fn(model(x), y)
            (loss * len(y) / (size * len(targets))).backward()
            batch_loss += loss.item() * len(y)
        if i - start == size - 1:
            optimizer.step()
            optimizer.zero_grad()
        total += batch_loss
        count += len(targets)
    return total / count
