from cs231n.layers import relu_forward


def relu_twice(x):
    return relu_forward(relu_forward(x)[0])
