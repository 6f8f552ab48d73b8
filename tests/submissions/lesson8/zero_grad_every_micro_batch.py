# Accumulation with zero_grad() at the top of every micro-batch: only the last micro-batch reaches step().
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        loss = loss_fn(model(inputs), targets)
        (loss / size).backward()
        if i - start == size - 1:
            optimizer.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
