# Mutant: predict without torch.no_grad(): autograd records the forward.
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    return out
