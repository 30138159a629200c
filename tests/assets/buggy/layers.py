def affine_forward(x, w, b):
    # planted bug: the bias is added twice
    out = x.reshape(x.shape[0], -1).dot(w) + 2 * b
    return out, (x, w, b)
