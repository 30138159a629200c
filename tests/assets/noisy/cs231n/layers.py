print("loading my layers, hello TA!")


def relu_forward(x):
    print("relu_forward called")
    return x * (x > 0), x
