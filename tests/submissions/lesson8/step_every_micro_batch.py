# Divides by k but steps after every micro-batch: k small steps instead of one big-batch step.
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        (loss / accumulation_steps).backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
