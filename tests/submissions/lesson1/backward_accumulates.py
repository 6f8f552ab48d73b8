# Mutant: backward(v) on the caller's own x, then read x.grad. It switches on x.requires_grad, adds into an
# existing x.grad, returns None for an x that is not a leaf, and a second call returns twice the answer.
def vjp(fn, x, v):
    x.requires_grad_(True)
    fn(x).backward(v)
    return x.grad
