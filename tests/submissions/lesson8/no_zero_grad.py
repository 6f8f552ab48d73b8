# The tutorial loop without optimizer.zero_grad(): every backward adds to the gradients of all earlier steps.
def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    total, count = 0.0, 0
    for i, (inputs, targets) in enumerate(loader):
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        (loss / accumulation_steps).backward()
        if (i + 1) % accumulation_steps == 0 or i + 1 == len(loader):
            optimizer.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
