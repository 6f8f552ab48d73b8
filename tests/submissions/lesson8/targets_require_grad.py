# The pitfall note's mistake: targets rebuilt with requires_grad=True (a float copy for the loss would not even
# run; here they stay integer class indices but go through a float tensor that requires grad first).
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, device, accumulation_steps=1):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    n = len(loader)
    for i, (inputs, targets) in enumerate(loader):
        inputs = inputs.to(device)
        onehot = torch.nn.functional.one_hot(targets, 4).float().to(device).requires_grad_(True)
        start = i - i % accumulation_steps
        size = min(accumulation_steps, n - start)
        loss = loss_fn(model(inputs), onehot)
        (loss / size).backward()
        if i - start == size - 1:
            optimizer.step()
            optimizer.zero_grad()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count
