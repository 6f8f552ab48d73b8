# Mutant: the notes' fit, generalized to any degree: unscaled features [x^d, ..., x, 1], w = torch.tensor(
# torch.randn([d + 1, 1]), requires_grad=True), Adam at lr 0.1 on the MSE. On x in [-10, 10] the constant is still
# far from 3 after 500 steps.
import torch


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    w = torch.tensor(torch.randn([degree + 1, 1], dtype=x.dtype, device=x.device), requires_grad=True)
    opt = torch.optim.Adam([w], lr)
    f = torch.stack([x ** k for k in range(degree, -1, -1)], 1)
    for _ in range(steps):
        yhat = torch.squeeze(f @ w, 1)
        loss = torch.nn.functional.mse_loss(yhat, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().squeeze(1)
