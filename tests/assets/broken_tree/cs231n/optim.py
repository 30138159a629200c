def sgd(w, dw, config=None):
    return w, config


def adam(w, dw, config=None)
    return w, config
