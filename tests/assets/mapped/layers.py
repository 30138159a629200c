def my_affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)
