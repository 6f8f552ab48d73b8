# Mutant: the output is detached after the forward, but the graph was recorded all the same.
def predict(model, x):
    was_training = model.training
    model.eval()
    out = model(x).detach()
    model.train(was_training)
    return out
