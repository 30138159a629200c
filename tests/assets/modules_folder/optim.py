from layers import relu_forward  # a sibling imported by its bare name


def sgd(w, dw, config=None):
    config = config or {"learning_rate": 1e-2}
    return w - config["learning_rate"] * dw, config
